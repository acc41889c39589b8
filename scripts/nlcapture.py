#!/usr/bin/env python3
"""Extract netlink buffers from an strace log and write them as .hex fixtures.

Used by scripts/capture-fixtures; not meant to be run by hand (but can be).

The strace log must come from

    strace -f -yy -s 1000000 -xx -e trace=sendmsg,recvmsg,sendto,recvfrom \
           -e write=all -e read=all -o LOG <command>

`-e write=all` / `-e read=all` make strace print a full hex dump of every
buffer written/read by those syscalls (lines ` | 00000  xx xx ...`), limited
to the syscall's return value for reads (` * N bytes in buffer 0`).  `-yy`
annotates each fd with its socket protocol (`3<NETLINK:[ROUTE:1234]>`), which
is how we know whether a buffer is rtnetlink or NETLINK_XFRM.

Selection: the *request* is the last buffer the command sent (or the one
picked with --request-index, an index into the list of sent buffers; negative
counts from the end).  The *reply* buffers are the non-MSG_PEEK reads on the
same fd after that request, up to the next send on that fd.
"""

import argparse
import os
import re
import shlex
import struct
import sys

SYSCALL_RE = re.compile(
    r'^(?:\[pid\s+\d+\]\s+|\d+\s+)?'
    r'(?P<sc>sendmsg|recvmsg|sendto|recvfrom)\('
    r'(?P<fd>\d+)(?:<(?P<fdinfo>[^>]*)>)?, '
    r'(?P<rest>.*)\) += (?P<ret>-?\d+)(?: .*)?$')
DUMP_RE = re.compile(r'^(?:\[pid\s+\d+\]\s+|\d+\s+)? \| (?P<off>[0-9a-f]{5,})  (?P<hex>.{49})')
BUFHDR_RE = re.compile(r'^(?:\[pid\s+\d+\]\s+|\d+\s+)? \* (?P<n>\d+) bytes in buffer (?P<i>\d+)')
PROTO_RE = re.compile(r'NETLINK:\[(?P<proto>[A-Z0-9_]+):')


class Event:
    def __init__(self, syscall, fd, fdinfo, ret, line):
        self.syscall = syscall
        self.fd = fd
        self.fdinfo = fdinfo or ''
        self.ret = ret
        self.line = line
        self.chunks = []          # list of (offset, bytes) per iov buffer
        self.data = bytearray()

    @property
    def is_send(self):
        return self.syscall in ('sendmsg', 'sendto')

    @property
    def is_peek(self):
        return 'MSG_PEEK' in self.line

    @property
    def protocol(self):
        m = PROTO_RE.search(self.fdinfo)
        return 'NETLINK_' + m.group('proto') if m else 'unknown'


def parse_strace(path):
    events = []
    cur = None
    expect_off = 0
    with open(path, encoding='utf-8', errors='replace') as f:
        for raw in f:
            line = raw.rstrip('\n')
            m = SYSCALL_RE.match(line)
            if m:
                cur = Event(m.group('sc'), int(m.group('fd')), m.group('fdinfo'),
                            int(m.group('ret')), line)
                events.append(cur)
                expect_off = 0
                continue
            if 'unfinished' in line or 'resumed' in line:
                sys.exit(f'nlcapture: interleaved syscalls not supported: {line[:120]}')
            if BUFHDR_RE.match(line):
                expect_off = 0
                continue
            m = DUMP_RE.match(line)
            if m and cur is not None:
                off = int(m.group('off'), 16)
                if off != expect_off:
                    # a new iov buffer starts again at offset 0
                    if off != 0:
                        sys.exit(f'nlcapture: unexpected dump offset {off:#x} (wanted {expect_off:#x})')
                bs = bytes.fromhex(' '.join(re.findall(r'[0-9a-f]{2}', m.group('hex'))))
                cur.data += bs
                expect_off = off + len(bs)
                continue
    for ev in events:
        if ev.ret >= 0 and len(ev.data) != ev.ret and not ev.is_peek:
            sys.exit(f'nlcapture: {ev.syscall} returned {ev.ret} but dump has {len(ev.data)} bytes')
    return [ev for ev in events if ev.data and not ev.is_peek and ev.ret > 0]


def check_netlink(buf):
    """Sanity check: the buffer is a whole number of netlink messages,
    optionally followed by zero padding (iproute2's dump requests send
    sizeof(struct req), which is larger than nlmsg_len; the kernel stops
    at a header with nlmsg_len < 16).  Returns (error, trailing_zero_bytes)."""
    off = 0
    while off < len(buf):
        if len(buf) - off < 16:
            break
        ln = struct.unpack_from('<I', buf, off)[0]
        if ln < 16:
            break
        if off + ln > len(buf):
            return f'nlmsg_len {ln} at offset {off} overruns the buffer', 0
        off += (ln + 3) & ~3
    off = min(off, len(buf))
    rest = buf[off:]
    if off == 0:
        return 'no netlink message', 0
    if any(rest):
        return f'{len(rest)} trailing non-zero bytes at offset {off}', 0
    return None, len(rest)


def write_fixture(path, header, data):
    lines = [f'# {h}' for h in header]
    for i in range(0, len(data), 16):
        lines.append(' '.join(f'{b:02x}' for b in data[i:i + 16]))
    with open(path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--strace', required=True)
    ap.add_argument('--out', required=True, help='fixture directory')
    ap.add_argument('--name', required=True, help='request fixture name (without .hex)')
    ap.add_argument('--reply', help='also write the reply buffer(s) under this name')
    ap.add_argument('--no-request', action='store_true', help='only write the reply')
    ap.add_argument('--request-index', type=int, default=-1)
    ap.add_argument('--request-type', type=int,
                    help='pick the last sent buffer whose first nlmsg_type is this')
    ap.add_argument('--kernel', required=True)
    ap.add_argument('--iproute2', required=True)
    ap.add_argument('--comment', action='append', default=[])
    ap.add_argument('--stderr-file')
    ap.add_argument('cmd', nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == '--' else a.cmd
    command = shlex.join(cmd)

    events = parse_strace(a.strace)
    sends = [e for e in events if e.is_send]
    if not sends:
        sys.exit(f'nlcapture: {a.name}: no send buffers captured')
    if a.request_type is not None:
        sends = [e for e in sends if struct.unpack_from('<H', e.data, 4)[0] == a.request_type]
        if not sends:
            sys.exit(f'nlcapture: {a.name}: no request of type {a.request_type}')
    req = sends[a.request_index]
    idx = events.index(req)
    replies = []
    for e in events[idx + 1:]:
        if e.fd != req.fd:
            continue
        if e.is_send:
            break
        replies.append(e)

    stderr_text = ''
    if a.stderr_file and os.path.exists(a.stderr_file):
        with open(a.stderr_file, encoding='utf-8', errors='replace') as f:
            stderr_text = ' | '.join(l.strip() for l in f if l.strip())

    def header(direction, ev, extra):
        h = [f'command: {command}',
             f'direction: {direction}',
             f'kernel: {a.kernel}',
             f'iproute2: {a.iproute2}',
             f'protocol: {ev.protocol}',
             f'syscall: {ev.syscall}',
             f'length: {len(ev.data)}']
        h += extra
        t = trailing[id(ev)]
        if t:
            h.append(f'trailing: {t} zero bytes after the last message '
                     f'(iproute2 sends sizeof its request struct; the kernel ignores them)')
        h += a.comment
        if stderr_text:
            h.append(f'stderr: {stderr_text}')
        return h

    written = []
    trailing = {}
    for ev in [req] + replies:
        err, trailing[id(ev)] = check_netlink(ev.data)
        if err:
            sys.exit(f'nlcapture: {a.name}: {ev.syscall} buffer is not clean netlink: {err}')

    if not a.no_request:
        p = os.path.join(a.out, a.name + '.hex')
        write_fixture(p, header('request', req, []), req.data)
        written.append(p)
    if a.reply:
        if not replies:
            sys.exit(f'nlcapture: {a.name}: no reply buffers captured')
        for i, ev in enumerate(replies, 1):
            if len(replies) == 1:
                nm = a.reply
                extra = []
            else:
                nm = f'{a.reply}-{i}'
                extra = [f'buffer: {i} of {len(replies)}']
            p = os.path.join(a.out, nm + '.hex')
            write_fixture(p, header('reply', ev, extra), ev.data)
            written.append(p)
    for p in written:
        print(os.path.basename(p))


if __name__ == '__main__':
    main()
