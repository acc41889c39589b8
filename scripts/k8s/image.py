#!/usr/bin/env python3
"""A container image from a directory, as a docker-archive tarball (the format of
`docker save`), which `ctr images import` loads: no registry and no Docker.

    image.py ROOTFS NAME:TAG OUT.tar [--binary SRC:DEST ...] [--entrypoint JSON] [--cmd JSON] [--env K=V ...]

One layer holding ROOTFS with every owner set to root and every time to 0, so the same
directory gives the same image digest. --binary copies an executable into ROOTFS at DEST
together with every shared library ldd finds for it (at the same paths, the dynamic
loader included), so a dynamically linked build runs in the image as it does here."""
import argparse
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile


def add_binary(rootfs, source, dest):
    """Copies source to rootfs/dest and the libraries it needs to their own paths."""
    def place(path, target):
        target = os.path.join(rootfs, target.lstrip("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.realpath(path), target)
    place(source, dest)
    listing = subprocess.run(["ldd", source], capture_output=True, text=True, check=True).stdout
    for line in listing.splitlines():
        found = re.search(r"(/\S+)", line.split("=>")[-1])
        if found and os.path.exists(found.group(1)):
            place(found.group(1), found.group(1))


def layer_of(rootfs):
    def as_root(info):
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mtime = 0
        return info
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(os.listdir(rootfs)):
            tar.add(os.path.join(rootfs, name), arcname=name, filter=as_root)
    return buffer.getvalue()


def member(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rootfs")
    parser.add_argument("ref")
    parser.add_argument("out")
    parser.add_argument("--entrypoint", default="null")
    parser.add_argument("--cmd", default="null")
    parser.add_argument("--env", action="append", default=[])
    parser.add_argument("--binary", action="append", default=[])
    args = parser.parse_args()
    for spec in args.binary:
        source, dest = spec.split(":", 1)
        add_binary(args.rootfs, source, dest)
    layer = layer_of(args.rootfs)
    diff_id = hashlib.sha256(layer).hexdigest()
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] + args.env,
                   "Entrypoint": json.loads(args.entrypoint), "Cmd": json.loads(args.cmd), "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]},
        "history": [{"created_by": "scripts/k8s/image.py"}],
    }, sort_keys=True).encode()
    config_id = hashlib.sha256(config).hexdigest()
    manifest = json.dumps([{"Config": config_id + ".json", "RepoTags": [args.ref],
                            "Layers": [diff_id + "/layer.tar"]}]).encode()
    with tarfile.open(args.out, "w") as tar:
        member(tar, diff_id + "/layer.tar", layer)
        member(tar, config_id + ".json", config)
        member(tar, "manifest.json", manifest)
    print(f"{args.ref}: {len(layer)} bytes, config sha256:{config_id[:12]}")


if __name__ == "__main__":
    main()
