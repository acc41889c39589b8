#!/usr/bin/env python3
"""A container image from a directory, as a docker-archive tarball (the format of
`docker save`), which `ctr images import` loads: no registry and no Docker.

    image.py ROOTFS NAME:TAG OUT.tar [--entrypoint JSON] [--cmd JSON] [--env K=V ...]

One layer holding ROOTFS with every owner set to root and every time to 0, so the same
directory gives the same image digest."""
import argparse
import hashlib
import io
import json
import os
import tarfile


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
    args = parser.parse_args()
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
