"""Lines for `bpftool batch file`: updates of Weft's pinned maps in the layouts of
bpf/weft_maps.h (little-endian host). Used by scripts/bench-datapath."""
import socket
import struct


def hx(b):
    return " ".join("%02x" % x for x in b)


def le32(v):
    return struct.pack("<I", v)


def ip(a):
    return socket.inet_aton(a)


def update(pins, name, key, value):
    return f"map update pinned {pins}/{name} key hex {hx(key)} value hex {hx(value)}\n"


def lpm(address, length):
    """struct weft_lpm_v4"""
    return le32(length) + ip(address)


def policy_key(src, dst, proto, port):
    """struct weft_policy_key, a longest-prefix key: 64 any protocol, 80 any port, 96 one port"""
    length = 64 if proto == 0 else 80 if port == 0 else 96
    return le32(length) + le32(src) + le32(dst) + bytes([proto, 0]) + struct.pack("!H", port)


def config(flags, port=4789):
    """struct weft_config: port, mark tag 0x57000000 / mask 0xff000000, flags"""
    return struct.pack("!H", port) + b"\0\0" + le32(0x57000000) + le32(0xff000000) + le32(flags)


def endpoint(address, mac):
    """struct weft_endpoint, WEFT_ENDPOINT_CHECK_MAC set"""
    return ip(address) + mac + b"\1\0"
