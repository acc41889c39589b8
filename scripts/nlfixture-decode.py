#!/usr/bin/env python3
"""Decode the netlink .hex fixtures in Tests/NetlinkTests/Fixtures.

    scripts/nlfixture-decode.py FILE.hex...      human-readable decode
    scripts/nlfixture-decode.py --summary FILE   one-line summary per message
    scripts/nlfixture-decode.py --check DIR      validate the fixture format only
    scripts/nlfixture-decode.py --readme DIR     validate + regenerate DIR/README.md

Understands NETLINK_ROUTE (ifinfomsg, ifaddrmsg, ndmsg, rtmsg and their
attributes, incl. IFLA_LINKINFO/IFLA_INFO_DATA for vxlan/bridge/veth) and
NETLINK_XFRM (xfrm_usersa_info, xfrm_userpolicy_info, xfrm_usersa_id,
xfrm_userpolicy_id and the XFRMA_* payload structs), NLMSG_ERROR (with the
echoed request and NLMSGERR_ATTR_* extended-ack TLVs) and NLMSG_DONE.

The protocol of a fixture comes from its `# protocol:` comment line (the
message type numbers of rtnetlink and xfrm overlap: 16 is both RTM_NEWLINK and
XFRM_MSG_NEWSA).  Standard library only.
"""

import errno
import ipaddress
import os
import re
import struct
import sys

# --------------------------------------------------------------------------
# constants

NLMSG_HDRLEN = 16
NLA_F_NESTED = 0x8000
NLA_F_NET_BYTEORDER = 0x4000
NLA_TYPE_MASK = 0x3fff

AF = {0: 'AF_UNSPEC', 1: 'AF_UNIX', 2: 'AF_INET', 7: 'AF_BRIDGE', 10: 'AF_INET6',
      16: 'AF_NETLINK', 17: 'AF_PACKET', 45: 'AF_MCTP'}

NLMSG_TYPES = {1: 'NLMSG_NOOP', 2: 'NLMSG_ERROR', 3: 'NLMSG_DONE', 4: 'NLMSG_OVERRUN'}

RTM_TYPES = {
    16: 'RTM_NEWLINK', 17: 'RTM_DELLINK', 18: 'RTM_GETLINK', 19: 'RTM_SETLINK',
    20: 'RTM_NEWADDR', 21: 'RTM_DELADDR', 22: 'RTM_GETADDR',
    24: 'RTM_NEWROUTE', 25: 'RTM_DELROUTE', 26: 'RTM_GETROUTE',
    28: 'RTM_NEWNEIGH', 29: 'RTM_DELNEIGH', 30: 'RTM_GETNEIGH',
    32: 'RTM_NEWRULE', 33: 'RTM_DELRULE', 34: 'RTM_GETRULE',
    36: 'RTM_NEWQDISC', 37: 'RTM_DELQDISC', 38: 'RTM_GETQDISC',
    64: 'RTM_NEWNDUSEROPT', 68: 'RTM_NEWNEIGHTBL', 70: 'RTM_GETNEIGHTBL',
    72: 'RTM_NEWNDUSEROPT', 80: 'RTM_NEWNETCONF', 81: 'RTM_DELNETCONF', 82: 'RTM_GETNETCONF',
    88: 'RTM_NEWNSID', 89: 'RTM_DELNSID', 90: 'RTM_GETNSID',
    92: 'RTM_NEWSTATS', 94: 'RTM_GETSTATS', 104: 'RTM_NEWNEXTHOP', 105: 'RTM_DELNEXTHOP',
    106: 'RTM_GETNEXTHOP', 108: 'RTM_NEWLINKPROP', 109: 'RTM_DELLINKPROP',
}

XFRM_TYPES = {
    0x10: 'XFRM_MSG_NEWSA', 0x11: 'XFRM_MSG_DELSA', 0x12: 'XFRM_MSG_GETSA',
    0x13: 'XFRM_MSG_NEWPOLICY', 0x14: 'XFRM_MSG_DELPOLICY', 0x15: 'XFRM_MSG_GETPOLICY',
    0x16: 'XFRM_MSG_ALLOCSPI', 0x17: 'XFRM_MSG_ACQUIRE', 0x18: 'XFRM_MSG_EXPIRE',
    0x19: 'XFRM_MSG_UPDPOLICY', 0x1a: 'XFRM_MSG_UPDSA', 0x1b: 'XFRM_MSG_POLEXPIRE',
    0x1c: 'XFRM_MSG_FLUSHSA', 0x1d: 'XFRM_MSG_FLUSHPOLICY', 0x1e: 'XFRM_MSG_NEWAE',
    0x1f: 'XFRM_MSG_GETAE', 0x20: 'XFRM_MSG_REPORT', 0x21: 'XFRM_MSG_MIGRATE',
    0x22: 'XFRM_MSG_NEWSADINFO', 0x23: 'XFRM_MSG_GETSADINFO', 0x24: 'XFRM_MSG_NEWSPDINFO',
    0x25: 'XFRM_MSG_GETSPDINFO', 0x26: 'XFRM_MSG_MAPPING', 0x27: 'XFRM_MSG_SETDEFAULT',
    0x28: 'XFRM_MSG_GETDEFAULT',
}

NLM_F_COMMON = [(0x01, 'NLM_F_REQUEST'), (0x02, 'NLM_F_MULTI'), (0x04, 'NLM_F_ACK'),
                (0x08, 'NLM_F_ECHO'), (0x10, 'NLM_F_DUMP_INTR'), (0x20, 'NLM_F_DUMP_FILTERED')]
NLM_F_GET = [(0x100, 'NLM_F_ROOT'), (0x200, 'NLM_F_MATCH'), (0x400, 'NLM_F_ATOMIC')]
NLM_F_NEW = [(0x100, 'NLM_F_REPLACE'), (0x200, 'NLM_F_EXCL'), (0x400, 'NLM_F_CREATE'),
             (0x800, 'NLM_F_APPEND')]
NLM_F_DEL = [(0x100, 'NLM_F_NONREC'), (0x200, 'NLM_F_BULK')]
NLM_F_ACKF = [(0x100, 'NLM_F_CAPPED'), (0x200, 'NLM_F_ACK_TLVS')]

IFF = [(0x1, 'UP'), (0x2, 'BROADCAST'), (0x4, 'DEBUG'), (0x8, 'LOOPBACK'),
       (0x10, 'POINTOPOINT'), (0x20, 'NOTRAILERS'), (0x40, 'RUNNING'), (0x80, 'NOARP'),
       (0x100, 'PROMISC'), (0x200, 'ALLMULTI'), (0x400, 'MASTER'), (0x800, 'SLAVE'),
       (0x1000, 'MULTICAST'), (0x2000, 'PORTSEL'), (0x4000, 'AUTOMEDIA'),
       (0x8000, 'DYNAMIC'), (0x10000, 'LOWER_UP'), (0x20000, 'DORMANT'), (0x40000, 'ECHO')]
IFA_F = [(0x01, 'SECONDARY'), (0x02, 'NODAD'), (0x04, 'OPTIMISTIC'), (0x08, 'DADFAILED'),
         (0x10, 'HOMEADDRESS'), (0x20, 'DEPRECATED'), (0x40, 'TENTATIVE'), (0x80, 'PERMANENT'),
         (0x100, 'MANAGETEMPADDR'), (0x200, 'NOPREFIXROUTE'), (0x400, 'MCAUTOJOIN'),
         (0x800, 'STABLE_PRIVACY')]
NUD = [(0x01, 'INCOMPLETE'), (0x02, 'REACHABLE'), (0x04, 'STALE'), (0x08, 'DELAY'),
       (0x10, 'PROBE'), (0x20, 'FAILED'), (0x40, 'NOARP'), (0x80, 'PERMANENT')]
NTF = [(0x01, 'USE'), (0x02, 'SELF'), (0x04, 'MASTER'), (0x08, 'PROXY'),
       (0x10, 'EXT_LEARNED'), (0x20, 'OFFLOADED'), (0x40, 'STICKY'), (0x80, 'ROUTER')]
RTNH_F = [(0x1, 'DEAD'), (0x2, 'PERVASIVE'), (0x4, 'ONLINK'), (0x8, 'OFFLOAD'),
          (0x10, 'LINKDOWN'), (0x20, 'UNRESOLVED'), (0x40, 'TRAP'),
          (0x100, 'RTM_F_NOTIFY'), (0x200, 'RTM_F_CLONED'), (0x400, 'RTM_F_EQUALIZE'),
          (0x800, 'RTM_F_PREFIX'), (0x1000, 'RTM_F_LOOKUP_TABLE'), (0x2000, 'RTM_F_FIB_MATCH'),
          (0x4000, 'RTM_F_OFFLOAD'), (0x8000, 'RTM_F_TRAP'), (0x20000, 'RTM_F_OFFLOAD_FAILED')]
RT_SCOPE = {0: 'RT_SCOPE_UNIVERSE', 200: 'RT_SCOPE_SITE', 253: 'RT_SCOPE_LINK',
            254: 'RT_SCOPE_HOST', 255: 'RT_SCOPE_NOWHERE'}
RT_TABLE = {0: 'RT_TABLE_UNSPEC', 252: 'RT_TABLE_COMPAT', 253: 'RT_TABLE_DEFAULT',
            254: 'RT_TABLE_MAIN', 255: 'RT_TABLE_LOCAL'}
RTPROT = {0: 'RTPROT_UNSPEC', 1: 'RTPROT_REDIRECT', 2: 'RTPROT_KERNEL', 3: 'RTPROT_BOOT',
          4: 'RTPROT_STATIC', 16: 'RTPROT_GATED', 186: 'RTPROT_BGP', 187: 'RTPROT_ISIS',
          188: 'RTPROT_OSPF', 189: 'RTPROT_RIP'}
RTN = {0: 'RTN_UNSPEC', 1: 'RTN_UNICAST', 2: 'RTN_LOCAL', 3: 'RTN_BROADCAST', 4: 'RTN_ANYCAST',
       5: 'RTN_MULTICAST', 6: 'RTN_BLACKHOLE', 7: 'RTN_UNREACHABLE', 8: 'RTN_PROHIBIT',
       9: 'RTN_THROW', 10: 'RTN_NAT', 11: 'RTN_XRESOLVE'}
ARPHRD = {0: 'ARPHRD_NETROM', 1: 'ARPHRD_ETHER', 772: 'ARPHRD_LOOPBACK', 65534: 'ARPHRD_NONE'}
IPPROTO = {0: 'IPPROTO_IP', 1: 'IPPROTO_ICMP', 6: 'IPPROTO_TCP', 17: 'IPPROTO_UDP',
           41: 'IPPROTO_IPV6', 50: 'IPPROTO_ESP', 51: 'IPPROTO_AH', 58: 'IPPROTO_ICMPV6',
           108: 'IPPROTO_COMP', 255: 'IPPROTO_RAW'}
XFRM_MODE = {0: 'XFRM_MODE_TRANSPORT', 1: 'XFRM_MODE_TUNNEL', 2: 'XFRM_MODE_ROUTEOPTIMIZATION',
             3: 'XFRM_MODE_IN_TRIGGER', 4: 'XFRM_MODE_BEET', 5: 'XFRM_MODE_IPTFS'}
XFRM_DIR = {0: 'XFRM_POLICY_IN', 1: 'XFRM_POLICY_OUT', 2: 'XFRM_POLICY_FWD'}
XFRM_ACTION = {0: 'XFRM_POLICY_ALLOW', 1: 'XFRM_POLICY_BLOCK'}
XFRM_SHARE = {0: 'XFRM_SHARE_ANY', 1: 'XFRM_SHARE_SESSION', 2: 'XFRM_SHARE_USER',
              3: 'XFRM_SHARE_UNIQUE'}
XFRM_POLICY_TYPE = {0: 'XFRM_POLICY_TYPE_MAIN', 1: 'XFRM_POLICY_TYPE_SUB'}


def enum(*names, start=0):
    return {i + start: n for i, n in enumerate(names) if n}


def flags_str(value, table):
    parts = []
    rest = value
    for bit, name in table:
        if value & bit:
            parts.append(name)
            rest &= ~bit
    if rest:
        parts.append(f'{rest:#x}')
    return '|'.join(parts) if parts else '0'


def errname(code):
    e = -code if code < 0 else code
    name = errno.errorcode.get(e, '?')
    return f'{code} (-{name}: {os.strerror(e)})' if code < 0 else str(code)


# --------------------------------------------------------------------------
# value renderers

def hexs(b, limit=48):
    h = b[:limit].hex(' ')
    return h + (f' ... ({len(b)} bytes)' if len(b) > limit else '')


def ip_str(b):
    if len(b) == 4:
        return str(ipaddress.IPv4Address(b))
    if len(b) == 16:
        return str(ipaddress.IPv6Address(b))
    return hexs(b)


def xfrm_addr(b, family):
    if family == 2:
        return str(ipaddress.IPv4Address(b[:4])) + ('' if not any(b[4:]) else f' (+{b[4:].hex()})')
    if family == 10:
        return str(ipaddress.IPv6Address(b))
    if not any(b[4:]):
        return str(ipaddress.IPv4Address(b[:4])) + '?'
    return str(ipaddress.IPv6Address(b))


def mac_str(b):
    return ':'.join(f'{x:02x}' for x in b)


def cstr(b):
    if b.endswith(b'\0'):
        s = b[:-1]
        tail = ' (NUL-terminated)'
    else:
        s = b
        tail = ' (no NUL)'
    if b'\0' in s:
        return f'{s!r}{tail}'
    return '"' + s.decode('utf-8', 'backslashreplace') + '"' + tail


INT_KINDS = {'u8': '<B', 'u16': '<H', 'u32': '<I', 'u64': '<Q', 's32': '<i',
             'be16': '>H', 'be32': '>I', 'be64': '>Q'}


# --------------------------------------------------------------------------
# attribute tables:  num -> (NAME, kind)
#   kind: u8 u16 u32 u64 s32 be16 be32 uint str mac ip bin flag
#         'nest:TABLE'  nested attributes from TABLE
#         'struct:NAME' rendered by STRUCTS[NAME]
#         special kinds handled in decode_attrs: linkinfo_data, linkinfo_slave_data,
#         veth_peer, af_spec, u32array, s32array, u64array

def table(spec, start=0):
    out = {}
    for i, item in enumerate(spec):
        if not item:
            continue
        name, _, kind = item.partition(':')
        out[i + start] = (name, kind or 'bin')
    return out


T = {}

T['IFLA'] = table([
    'IFLA_UNSPEC', 'IFLA_ADDRESS:mac', 'IFLA_BROADCAST:mac', 'IFLA_IFNAME:str', 'IFLA_MTU:u32',
    'IFLA_LINK:u32', 'IFLA_QDISC:str', 'IFLA_STATS:struct:rtnl_link_stats', 'IFLA_COST',
    'IFLA_PRIORITY', 'IFLA_MASTER:u32', 'IFLA_WIRELESS', 'IFLA_PROTINFO:nest:IFLA_BRPORT',
    'IFLA_TXQLEN:u32', 'IFLA_MAP:struct:rtnl_link_ifmap', 'IFLA_WEIGHT:u32', 'IFLA_OPERSTATE:u8',
    'IFLA_LINKMODE:u8', 'IFLA_LINKINFO:nest:IFLA_INFO', 'IFLA_NET_NS_PID:u32', 'IFLA_IFALIAS:str',
    'IFLA_NUM_VF:u32', 'IFLA_VFINFO_LIST', 'IFLA_STATS64:struct:rtnl_link_stats64',
    'IFLA_VF_PORTS', 'IFLA_PORT_SELF', 'IFLA_AF_SPEC:af_spec', 'IFLA_GROUP:u32',
    'IFLA_NET_NS_FD:u32', 'IFLA_EXT_MASK:u32', 'IFLA_PROMISCUITY:u32', 'IFLA_NUM_TX_QUEUES:u32',
    'IFLA_NUM_RX_QUEUES:u32', 'IFLA_CARRIER:u8', 'IFLA_PHYS_PORT_ID', 'IFLA_CARRIER_CHANGES:u32',
    'IFLA_PHYS_SWITCH_ID', 'IFLA_LINK_NETNSID:s32', 'IFLA_PHYS_PORT_NAME:str', 'IFLA_PROTO_DOWN:u8',
    'IFLA_GSO_MAX_SEGS:u32', 'IFLA_GSO_MAX_SIZE:u32', 'IFLA_PAD', 'IFLA_XDP:nest:IFLA_XDP',
    'IFLA_EVENT:u32', 'IFLA_NEW_NETNSID:s32', 'IFLA_TARGET_NETNSID:s32',
    'IFLA_CARRIER_UP_COUNT:u32', 'IFLA_CARRIER_DOWN_COUNT:u32', 'IFLA_NEW_IFINDEX:s32',
    'IFLA_MIN_MTU:u32', 'IFLA_MAX_MTU:u32', 'IFLA_PROP_LIST:nest:IFLA', 'IFLA_ALT_IFNAME:str',
    'IFLA_PERM_ADDRESS:mac', 'IFLA_PROTO_DOWN_REASON:nest:IFLA_PROTO_DOWN_REASON',
    'IFLA_PARENT_DEV_NAME:str', 'IFLA_PARENT_DEV_BUS_NAME:str', 'IFLA_GRO_MAX_SIZE:u32',
    'IFLA_TSO_MAX_SIZE:u32', 'IFLA_TSO_MAX_SEGS:u32', 'IFLA_ALLMULTI:u32', 'IFLA_DEVLINK_PORT',
    'IFLA_GSO_IPV4_MAX_SIZE:u32', 'IFLA_GRO_IPV4_MAX_SIZE:u32', 'IFLA_DPLL_PIN',
    'IFLA_MAX_PACING_OFFLOAD_HORIZON:uint', 'IFLA_NETNS_IMMUTABLE:u8', 'IFLA_HEADROOM:u16',
    'IFLA_TAILROOM:u16',
])
T['IFLA_INFO'] = table([
    'IFLA_INFO_UNSPEC', 'IFLA_INFO_KIND:str', 'IFLA_INFO_DATA:linkinfo_data', 'IFLA_INFO_XSTATS',
    'IFLA_INFO_SLAVE_KIND:str', 'IFLA_INFO_SLAVE_DATA:linkinfo_slave_data'])
T['IFLA_PROTO_DOWN_REASON'] = table([
    'IFLA_PROTO_DOWN_REASON_UNSPEC', 'IFLA_PROTO_DOWN_REASON_MASK:u32',
    'IFLA_PROTO_DOWN_REASON_VALUE:u32'])
T['IFLA_XDP'] = table([
    'IFLA_XDP_UNSPEC', 'IFLA_XDP_FD:s32', 'IFLA_XDP_ATTACHED:u8', 'IFLA_XDP_FLAGS:u32',
    'IFLA_XDP_PROG_ID:u32', 'IFLA_XDP_DRV_PROG_ID:u32', 'IFLA_XDP_SKB_PROG_ID:u32',
    'IFLA_XDP_HW_PROG_ID:u32', 'IFLA_XDP_EXPECTED_FD:s32'])
T['IFLA_VXLAN'] = table([
    'IFLA_VXLAN_UNSPEC', 'IFLA_VXLAN_ID:u32', 'IFLA_VXLAN_GROUP:ip', 'IFLA_VXLAN_LINK:u32',
    'IFLA_VXLAN_LOCAL:ip', 'IFLA_VXLAN_TTL:u8', 'IFLA_VXLAN_TOS:u8', 'IFLA_VXLAN_LEARNING:u8',
    'IFLA_VXLAN_AGEING:u32', 'IFLA_VXLAN_LIMIT:u32', 'IFLA_VXLAN_PORT_RANGE:struct:vxlan_port_range',
    'IFLA_VXLAN_PROXY:u8', 'IFLA_VXLAN_RSC:u8', 'IFLA_VXLAN_L2MISS:u8', 'IFLA_VXLAN_L3MISS:u8',
    'IFLA_VXLAN_PORT:be16', 'IFLA_VXLAN_GROUP6:ip', 'IFLA_VXLAN_LOCAL6:ip',
    'IFLA_VXLAN_UDP_CSUM:u8', 'IFLA_VXLAN_UDP_ZERO_CSUM6_TX:u8', 'IFLA_VXLAN_UDP_ZERO_CSUM6_RX:u8',
    'IFLA_VXLAN_REMCSUM_TX:u8', 'IFLA_VXLAN_REMCSUM_RX:u8', 'IFLA_VXLAN_GBP:flag',
    'IFLA_VXLAN_REMCSUM_NOPARTIAL:flag', 'IFLA_VXLAN_COLLECT_METADATA:u8', 'IFLA_VXLAN_LABEL:be32',
    'IFLA_VXLAN_GPE:flag', 'IFLA_VXLAN_TTL_INHERIT:u8', 'IFLA_VXLAN_DF:u8',
    'IFLA_VXLAN_VNIFILTER:u8', 'IFLA_VXLAN_LOCALBYPASS:u8', 'IFLA_VXLAN_LABEL_POLICY:u32',
    'IFLA_VXLAN_RESERVED_BITS', 'IFLA_VXLAN_MC_ROUTE:u8', 'IFLA_VXLAN_LOCALBIND:u8'])
T['IFLA_BR'] = table([
    'IFLA_BR_UNSPEC', 'IFLA_BR_FORWARD_DELAY:u32', 'IFLA_BR_HELLO_TIME:u32', 'IFLA_BR_MAX_AGE:u32',
    'IFLA_BR_AGEING_TIME:u32', 'IFLA_BR_STP_STATE:u32', 'IFLA_BR_PRIORITY:u16',
    'IFLA_BR_VLAN_FILTERING:u8', 'IFLA_BR_VLAN_PROTOCOL:be16', 'IFLA_BR_GROUP_FWD_MASK:u16',
    'IFLA_BR_ROOT_ID:struct:ifla_bridge_id', 'IFLA_BR_BRIDGE_ID:struct:ifla_bridge_id',
    'IFLA_BR_ROOT_PORT:u16', 'IFLA_BR_ROOT_PATH_COST:u32', 'IFLA_BR_TOPOLOGY_CHANGE:u8',
    'IFLA_BR_TOPOLOGY_CHANGE_DETECTED:u8', 'IFLA_BR_HELLO_TIMER:u64', 'IFLA_BR_TCN_TIMER:u64',
    'IFLA_BR_TOPOLOGY_CHANGE_TIMER:u64', 'IFLA_BR_GC_TIMER:u64', 'IFLA_BR_GROUP_ADDR:mac',
    'IFLA_BR_FDB_FLUSH:flag', 'IFLA_BR_MCAST_ROUTER:u8', 'IFLA_BR_MCAST_SNOOPING:u8',
    'IFLA_BR_MCAST_QUERY_USE_IFADDR:u8', 'IFLA_BR_MCAST_QUERIER:u8',
    'IFLA_BR_MCAST_HASH_ELASTICITY:u32', 'IFLA_BR_MCAST_HASH_MAX:u32',
    'IFLA_BR_MCAST_LAST_MEMBER_CNT:u32', 'IFLA_BR_MCAST_STARTUP_QUERY_CNT:u32',
    'IFLA_BR_MCAST_LAST_MEMBER_INTVL:u64', 'IFLA_BR_MCAST_MEMBERSHIP_INTVL:u64',
    'IFLA_BR_MCAST_QUERIER_INTVL:u64', 'IFLA_BR_MCAST_QUERY_INTVL:u64',
    'IFLA_BR_MCAST_QUERY_RESPONSE_INTVL:u64', 'IFLA_BR_MCAST_STARTUP_QUERY_INTVL:u64',
    'IFLA_BR_NF_CALL_IPTABLES:u8', 'IFLA_BR_NF_CALL_IP6TABLES:u8', 'IFLA_BR_NF_CALL_ARPTABLES:u8',
    'IFLA_BR_VLAN_DEFAULT_PVID:u16', 'IFLA_BR_PAD', 'IFLA_BR_VLAN_STATS_ENABLED:u8',
    'IFLA_BR_MCAST_STATS_ENABLED:u8', 'IFLA_BR_MCAST_IGMP_VERSION:u8',
    'IFLA_BR_MCAST_MLD_VERSION:u8', 'IFLA_BR_VLAN_STATS_PER_PORT:u8',
    'IFLA_BR_MULTI_BOOLOPT:struct:br_boolopt_multi', 'IFLA_BR_MCAST_QUERIER_STATE',
    'IFLA_BR_FDB_N_LEARNED:u32', 'IFLA_BR_FDB_MAX_LEARNED:u32'])
T['IFLA_BRPORT'] = table([
    'IFLA_BRPORT_UNSPEC', 'IFLA_BRPORT_STATE:u8', 'IFLA_BRPORT_PRIORITY:u16', 'IFLA_BRPORT_COST:u32',
    'IFLA_BRPORT_MODE:u8', 'IFLA_BRPORT_GUARD:u8', 'IFLA_BRPORT_PROTECT:u8',
    'IFLA_BRPORT_FAST_LEAVE:u8', 'IFLA_BRPORT_LEARNING:u8', 'IFLA_BRPORT_UNICAST_FLOOD:u8',
    'IFLA_BRPORT_PROXYARP:u8', 'IFLA_BRPORT_LEARNING_SYNC:u8', 'IFLA_BRPORT_PROXYARP_WIFI:u8'])
T['VETH_INFO'] = table(['VETH_INFO_UNSPEC', 'VETH_INFO_PEER:veth_peer'])
T['IFLA_INET'] = table(['IFLA_INET_UNSPEC', 'IFLA_INET_CONF:u32array'])
T['IFLA_INET6'] = table([
    'IFLA_INET6_UNSPEC', 'IFLA_INET6_FLAGS:u32', 'IFLA_INET6_CONF:s32array',
    'IFLA_INET6_STATS:u64array', 'IFLA_INET6_MCAST', 'IFLA_INET6_CACHEINFO:struct:ifla_cacheinfo',
    'IFLA_INET6_ICMP6STATS:u64array', 'IFLA_INET6_TOKEN:ip', 'IFLA_INET6_ADDR_GEN_MODE:u8',
    'IFLA_INET6_RA_MTU:u32'])
T['IFLA_BRIDGE'] = table([
    'IFLA_BRIDGE_FLAGS:u16', 'IFLA_BRIDGE_MODE:u16', 'IFLA_BRIDGE_VLAN_INFO'])

T['IFA'] = table([
    'IFA_UNSPEC', 'IFA_ADDRESS:ip', 'IFA_LOCAL:ip', 'IFA_LABEL:str', 'IFA_BROADCAST:ip',
    'IFA_ANYCAST:ip', 'IFA_CACHEINFO:struct:ifa_cacheinfo', 'IFA_MULTICAST:ip', 'IFA_FLAGS:u32',
    'IFA_RT_PRIORITY:u32', 'IFA_TARGET_NETNSID:s32', 'IFA_PROTO:u8'])

T['NDA'] = table([
    'NDA_UNSPEC', 'NDA_DST:ip', 'NDA_LLADDR:mac', 'NDA_CACHEINFO:struct:nda_cacheinfo',
    'NDA_PROBES:u32', 'NDA_VLAN:u16', 'NDA_PORT:be16', 'NDA_VNI:u32', 'NDA_IFINDEX:u32',
    'NDA_MASTER:u32', 'NDA_LINK_NETNSID:s32', 'NDA_SRC_VNI:u32', 'NDA_PROTOCOL:u8',
    'NDA_NH_ID:u32', 'NDA_FDB_EXT_ATTRS:nest:NFEA', 'NDA_FLAGS_EXT:u32',
    'NDA_NDM_STATE_MASK:u16', 'NDA_NDM_FLAGS_MASK:u8'])
T['NFEA'] = table(['NFEA_UNSPEC', 'NFEA_ACTIVITY_NOTIFY:u8', 'NFEA_DONT_REFRESH:flag'])

T['RTA'] = table([
    'RTA_UNSPEC', 'RTA_DST:ip', 'RTA_SRC:ip', 'RTA_IIF:u32', 'RTA_OIF:u32', 'RTA_GATEWAY:ip',
    'RTA_PRIORITY:u32', 'RTA_PREFSRC:ip', 'RTA_METRICS:nest:RTAX', 'RTA_MULTIPATH',
    'RTA_PROTOINFO', 'RTA_FLOW:u32', 'RTA_CACHEINFO:struct:rta_cacheinfo', 'RTA_SESSION',
    'RTA_MP_ALGO', 'RTA_TABLE:u32', 'RTA_MARK:u32', 'RTA_MFC_STATS', 'RTA_VIA', 'RTA_NEWDST',
    'RTA_PREF:u8', 'RTA_ENCAP_TYPE:u16', 'RTA_ENCAP', 'RTA_EXPIRES:u32', 'RTA_PAD', 'RTA_UID:u32',
    'RTA_TTL_PROPAGATE:u8', 'RTA_IP_PROTO:u8', 'RTA_SPORT:be16', 'RTA_DPORT:be16',
    'RTA_NH_ID:u32', 'RTA_FLOWLABEL:be32'])
T['RTAX'] = table([
    'RTAX_UNSPEC', 'RTAX_LOCK:u32', 'RTAX_MTU:u32', 'RTAX_WINDOW:u32', 'RTAX_RTT:u32',
    'RTAX_RTTVAR:u32', 'RTAX_SSTHRESH:u32', 'RTAX_CWND:u32', 'RTAX_ADVMSS:u32',
    'RTAX_REORDERING:u32', 'RTAX_HOPLIMIT:u32', 'RTAX_INITCWND:u32', 'RTAX_FEATURES:u32',
    'RTAX_RTO_MIN:u32', 'RTAX_INITRWND:u32', 'RTAX_QUICKACK:u32', 'RTAX_CC_ALGO:str',
    'RTAX_FASTOPEN_NO_COOKIE:u32'])

T['NLMSGERR'] = table([
    'NLMSGERR_ATTR_UNUSED', 'NLMSGERR_ATTR_MSG:str', 'NLMSGERR_ATTR_OFFS:u32',
    'NLMSGERR_ATTR_COOKIE', 'NLMSGERR_ATTR_POLICY', 'NLMSGERR_ATTR_MISS_TYPE:u32',
    'NLMSGERR_ATTR_MISS_NEST:u32'])

T['XFRMA'] = table([
    'XFRMA_UNSPEC', 'XFRMA_ALG_AUTH:struct:xfrm_algo', 'XFRMA_ALG_CRYPT:struct:xfrm_algo',
    'XFRMA_ALG_COMP:struct:xfrm_algo', 'XFRMA_ENCAP:struct:xfrm_encap_tmpl',
    'XFRMA_TMPL:struct:xfrm_user_tmpl[]', 'XFRMA_SA:struct:xfrm_usersa_info',
    'XFRMA_POLICY:struct:xfrm_userpolicy_info', 'XFRMA_SEC_CTX',
    'XFRMA_LTIME_VAL:struct:xfrm_lifetime_cur', 'XFRMA_REPLAY_VAL:struct:xfrm_replay_state',
    'XFRMA_REPLAY_THRESH:u32', 'XFRMA_ETIMER_THRESH:u32', 'XFRMA_SRCADDR:struct:xfrm_address_t',
    'XFRMA_COADDR:struct:xfrm_address_t', 'XFRMA_LASTUSED:u64',
    'XFRMA_POLICY_TYPE:struct:xfrm_userpolicy_type', 'XFRMA_MIGRATE',
    'XFRMA_ALG_AEAD:struct:xfrm_algo_aead', 'XFRMA_KMADDRESS',
    'XFRMA_ALG_AUTH_TRUNC:struct:xfrm_algo_auth', 'XFRMA_MARK:struct:xfrm_mark',
    'XFRMA_TFCPAD:u32', 'XFRMA_REPLAY_ESN_VAL:struct:xfrm_replay_state_esn',
    'XFRMA_SA_EXTRA_FLAGS:u32', 'XFRMA_PROTO:u8', 'XFRMA_ADDRESS_FILTER:struct:xfrm_address_filter',
    'XFRMA_PAD', 'XFRMA_OFFLOAD_DEV:struct:xfrm_user_offload', 'XFRMA_SET_MARK:u32',
    'XFRMA_SET_MARK_MASK:u32', 'XFRMA_IF_ID:u32', 'XFRMA_MTIMER_THRESH:u32', 'XFRMA_SA_DIR:u8',
    'XFRMA_NAT_KEEPALIVE_INTERVAL:u32', 'XFRMA_SA_PCPU:u32', 'XFRMA_IPTFS_DROP_TIME:u32',
    'XFRMA_IPTFS_REORDER_WINDOW:u16', 'XFRMA_IPTFS_DONT_FRAG:flag', 'XFRMA_IPTFS_INIT_DELAY:u32',
    'XFRMA_IPTFS_MAX_QSIZE:u32', 'XFRMA_IPTFS_PKT_SIZE:u32'])

LINKINFO_DATA = {'vxlan': 'IFLA_VXLAN', 'bridge': 'IFLA_BR', 'veth': 'VETH_INFO'}
LINKINFO_SLAVE_DATA = {'bridge': 'IFLA_BRPORT'}
AF_SPEC = {2: ('AF_INET', 'IFLA_INET'), 10: ('AF_INET6', 'IFLA_INET6'),
           7: ('AF_BRIDGE', 'IFLA_BRIDGE')}


# --------------------------------------------------------------------------
# structs: name -> (size, [(field, offset, fmt|callable, renderer)])
# A "field list" is rendered as "name=value" pairs.  Renderers get the raw
# bytes of the field.

def f_int(fmt):
    return lambda b: struct.unpack(fmt, b)[0]


class Struct:
    def __init__(self, name, size, fields):
        self.name = name
        self.size = size
        self.fields = fields   # (name, offset, size, render(bytes, ctx) -> str)

    def render(self, b, ctx=None, prefix='', base=0):
        out = []
        for fname, off, sz, fn in self.fields:
            raw = b[off:off + sz]
            if isinstance(fn, Struct):
                out += fn.render(raw, ctx, prefix + fname + '.', base + off)
            else:
                out.append((prefix + fname, base + off, sz, fn(raw, ctx)))
        return out


def r_u(fmt, names=None, flags=None, hexfmt=False):
    def r(b, ctx):
        v = struct.unpack(fmt, b)[0]
        s = f'{v:#x}' if hexfmt else str(v)
        if names is not None and v in names:
            s += f' {names[v]}'
        if flags is not None:
            s = f'{v:#x} {flags_str(v, flags)}'
        return s
    return r


def r_family(b, ctx):
    v = struct.unpack('<H' if len(b) == 2 else '<B', b)[0]
    if ctx is not None:
        ctx.setdefault('family', v)
    return f'{v} {AF.get(v, "")}'.strip()


def r_pad(b, ctx):
    return hexs(b) if any(b) else f'0 (pad, {len(b)} byte{"s" if len(b) > 1 else ""})'


def r_xaddr(famkey):
    def r(b, ctx):
        fam = (ctx or {}).get(famkey, (ctx or {}).get('family'))
        return xfrm_addr(b, fam)
    return r


def r_str(b, ctx):
    s = b.split(b'\0', 1)[0]
    return f'"{s.decode()}" (char[{len(b)}], NUL-padded)'


def r_hex(b, ctx):
    return '0x' + b.hex() if b else '(empty)'


U8, U16, U32, U64, S32 = r_u('<B'), r_u('<H'), r_u('<I'), r_u('<Q'), r_u('<i')
BE16, BE32 = r_u('>H'), r_u('>I')

S = {}

S['ifinfomsg'] = Struct('ifinfomsg', 16, [
    ('ifi_family', 0, 1, r_family), ('__ifi_pad', 1, 1, r_pad),
    ('ifi_type', 2, 2, r_u('<H', ARPHRD)), ('ifi_index', 4, 4, S32),
    ('ifi_flags', 8, 4, r_u('<I', flags=IFF)), ('ifi_change', 12, 4, r_u('<I', hexfmt=True))])
S['ifaddrmsg'] = Struct('ifaddrmsg', 8, [
    ('ifa_family', 0, 1, r_family), ('ifa_prefixlen', 1, 1, U8),
    ('ifa_flags', 2, 1, r_u('<B', flags=IFA_F)), ('ifa_scope', 3, 1, r_u('<B', RT_SCOPE)),
    ('ifa_index', 4, 4, U32)])
S['ndmsg'] = Struct('ndmsg', 12, [
    ('ndm_family', 0, 1, r_family), ('ndm_pad1', 1, 1, r_pad), ('ndm_pad2', 2, 2, r_pad),
    ('ndm_ifindex', 4, 4, S32), ('ndm_state', 8, 2, r_u('<H', flags=NUD)),
    ('ndm_flags', 10, 1, r_u('<B', flags=NTF)), ('ndm_type', 11, 1, r_u('<B', RTN))])
S['rtmsg'] = Struct('rtmsg', 12, [
    ('rtm_family', 0, 1, r_family), ('rtm_dst_len', 1, 1, U8), ('rtm_src_len', 2, 1, U8),
    ('rtm_tos', 3, 1, U8), ('rtm_table', 4, 1, r_u('<B', RT_TABLE)),
    ('rtm_protocol', 5, 1, r_u('<B', RTPROT)), ('rtm_scope', 6, 1, r_u('<B', RT_SCOPE)),
    ('rtm_type', 7, 1, r_u('<B', RTN)), ('rtm_flags', 8, 4, r_u('<I', flags=RTNH_F))])

S['xfrm_selector'] = Struct('xfrm_selector', 56, [
    ('daddr', 0, 16, r_xaddr('sel_family')), ('saddr', 16, 16, r_xaddr('sel_family')),
    ('dport', 32, 2, BE16), ('dport_mask', 34, 2, r_u('>H', hexfmt=True)),
    ('sport', 36, 2, BE16), ('sport_mask', 38, 2, r_u('>H', hexfmt=True)),
    ('family', 40, 2, r_u('<H', AF)), ('prefixlen_d', 42, 1, U8), ('prefixlen_s', 43, 1, U8),
    ('proto', 44, 1, r_u('<B', IPPROTO)), ('__pad', 45, 3, r_pad),
    ('ifindex', 48, 4, S32), ('user', 52, 4, U32)])
S['xfrm_lifetime_cfg'] = Struct('xfrm_lifetime_cfg', 64, [
    (n, i * 8, 8, U64) for i, n in enumerate([
        'soft_byte_limit', 'hard_byte_limit', 'soft_packet_limit', 'hard_packet_limit',
        'soft_add_expires_seconds', 'hard_add_expires_seconds',
        'soft_use_expires_seconds', 'hard_use_expires_seconds'])])
S['xfrm_lifetime_cur'] = Struct('xfrm_lifetime_cur', 32, [
    (n, i * 8, 8, U64) for i, n in enumerate(['bytes', 'packets', 'add_time', 'use_time'])])
S['xfrm_id'] = Struct('xfrm_id', 24, [
    ('daddr', 0, 16, r_xaddr('family')), ('spi', 16, 4, r_u('>I', hexfmt=True)),
    ('proto', 20, 1, r_u('<B', IPPROTO)), ('__pad', 21, 3, r_pad)])
S['xfrm_stats'] = Struct('xfrm_stats', 12, [
    ('replay_window', 0, 4, U32), ('replay', 4, 4, U32), ('integrity_failed', 8, 4, U32)])
S['xfrm_usersa_info'] = Struct('xfrm_usersa_info', 224, [
    ('sel', 0, 56, S['xfrm_selector']), ('id', 56, 24, S['xfrm_id']),
    ('saddr', 80, 16, r_xaddr('family')), ('lft', 96, 64, S['xfrm_lifetime_cfg']),
    ('curlft', 160, 32, S['xfrm_lifetime_cur']), ('stats', 192, 12, S['xfrm_stats']),
    ('seq', 204, 4, U32), ('reqid', 208, 4, r_u('<I', hexfmt=True)),
    ('family', 212, 2, r_u('<H', AF)), ('mode', 214, 1, r_u('<B', XFRM_MODE)),
    ('replay_window', 215, 1, U8), ('flags', 216, 1, r_u('<B', hexfmt=True)),
    ('__pad', 217, 7, r_pad)])
S['xfrm_usersa_id'] = Struct('xfrm_usersa_id', 24, [
    ('daddr', 0, 16, r_xaddr('family')), ('spi', 16, 4, r_u('>I', hexfmt=True)),
    ('family', 20, 2, r_u('<H', AF)), ('proto', 22, 1, r_u('<B', IPPROTO)),
    ('__pad', 23, 1, r_pad)])
S['xfrm_userpolicy_info'] = Struct('xfrm_userpolicy_info', 168, [
    ('sel', 0, 56, S['xfrm_selector']), ('lft', 56, 64, S['xfrm_lifetime_cfg']),
    ('curlft', 120, 32, S['xfrm_lifetime_cur']), ('priority', 152, 4, U32),
    ('index', 156, 4, U32), ('dir', 160, 1, r_u('<B', XFRM_DIR)),
    ('action', 161, 1, r_u('<B', XFRM_ACTION)), ('flags', 162, 1, r_u('<B', hexfmt=True)),
    ('share', 163, 1, r_u('<B', XFRM_SHARE)), ('__pad', 164, 4, r_pad)])
S['xfrm_userpolicy_id'] = Struct('xfrm_userpolicy_id', 64, [
    ('sel', 0, 56, S['xfrm_selector']), ('index', 56, 4, U32),
    ('dir', 60, 1, r_u('<B', XFRM_DIR)), ('__pad', 61, 3, r_pad)])
S['xfrm_user_tmpl'] = Struct('xfrm_user_tmpl', 64, [
    ('id', 0, 24, S['xfrm_id']), ('family', 24, 2, r_u('<H', AF)), ('__pad', 26, 2, r_pad),
    ('saddr', 28, 16, r_xaddr('family')), ('reqid', 44, 4, r_u('<I', hexfmt=True)),
    ('mode', 48, 1, r_u('<B', XFRM_MODE)), ('share', 49, 1, r_u('<B', XFRM_SHARE)),
    ('optional', 50, 1, U8), ('__pad2', 51, 1, r_pad),
    ('aalgos', 52, 4, r_u('<I', hexfmt=True)), ('ealgos', 56, 4, r_u('<I', hexfmt=True)),
    ('calgos', 60, 4, r_u('<I', hexfmt=True))])
S['xfrm_mark'] = Struct('xfrm_mark', 8, [
    ('v', 0, 4, r_u('<I', hexfmt=True)), ('m', 4, 4, r_u('<I', hexfmt=True))])
S['xfrm_address_t'] = Struct('xfrm_address_t', 16, [('a', 0, 16, r_xaddr('family'))])
S['xfrm_userpolicy_type'] = Struct('xfrm_userpolicy_type', 6, [
    ('type', 0, 1, r_u('<B', XFRM_POLICY_TYPE)), ('__pad', 1, 1, r_pad),
    ('reserved1', 2, 2, U16), ('reserved2', 4, 1, U8), ('__pad2', 5, 1, r_pad)])
S['xfrm_replay_state'] = Struct('xfrm_replay_state', 12, [
    ('oseq', 0, 4, U32), ('seq', 4, 4, U32), ('bitmap', 8, 4, r_u('<I', hexfmt=True))])
S['xfrm_encap_tmpl'] = Struct('xfrm_encap_tmpl', 24, [
    ('encap_type', 0, 2, U16), ('encap_sport', 2, 2, BE16), ('encap_dport', 4, 2, BE16),
    ('__pad', 6, 2, r_pad), ('encap_oa', 8, 16, r_xaddr('family'))])
S['xfrm_address_filter'] = Struct('xfrm_address_filter', 36, [
    ('saddr', 0, 16, r_xaddr('filter_family')), ('daddr', 16, 16, r_xaddr('filter_family')),
    ('family', 32, 2, r_u('<H', AF)), ('splen', 34, 1, U8), ('dplen', 35, 1, U8)])
S['xfrm_user_offload'] = Struct('xfrm_user_offload', 8, [
    ('ifindex', 0, 4, S32), ('flags', 4, 1, U8), ('__pad', 5, 3, r_pad)])
S['ifla_bridge_id'] = Struct('ifla_bridge_id', 8, [
    ('prio', 0, 2, r_hex), ('addr', 2, 6, lambda b, c: mac_str(b))])
S['br_boolopt_multi'] = Struct('br_boolopt_multi', 8, [
    ('optval', 0, 4, r_u('<I', hexfmt=True)), ('optmask', 4, 4, r_u('<I', hexfmt=True))])
S['vxlan_port_range'] = Struct('ifla_vxlan_port_range', 4, [
    ('low', 0, 2, BE16), ('high', 2, 2, BE16)])
S['ifa_cacheinfo'] = Struct('ifa_cacheinfo', 16, [
    ('ifa_prefered', 0, 4, U32), ('ifa_valid', 4, 4, U32), ('cstamp', 8, 4, U32),
    ('tstamp', 12, 4, U32)])
S['nda_cacheinfo'] = Struct('nda_cacheinfo', 16, [
    ('ndm_confirmed', 0, 4, U32), ('ndm_used', 4, 4, U32), ('ndm_updated', 8, 4, U32),
    ('ndm_refcnt', 12, 4, U32)])
S['rta_cacheinfo'] = Struct('rta_cacheinfo', 32, [
    (n, i * 4, 4, S32 if n in ('rta_expires', 'rta_error') else U32) for i, n in enumerate([
        'rta_clntref', 'rta_lastuse', 'rta_expires', 'rta_error', 'rta_used', 'rta_id',
        'rta_ts', 'rta_tsage'])])
S['ifla_cacheinfo'] = Struct('ifla_cacheinfo', 16, [
    ('max_reasm_len', 0, 4, U32), ('tstamp', 4, 4, U32), ('reachable_time', 8, 4, U32),
    ('retrans_time', 12, 4, U32)])
S['rtnl_link_ifmap'] = Struct('rtnl_link_ifmap', 32, [
    ('mem_start', 0, 8, U64), ('mem_end', 8, 8, U64), ('base_addr', 16, 8, U64),
    ('irq', 24, 2, U16), ('dma', 26, 1, U8), ('port', 27, 1, U8), ('__pad', 28, 4, r_pad)])


def r_algo_name(b, ctx):
    return r_str(b, ctx)


def algo_struct(kind, b):
    """xfrm_algo / xfrm_algo_auth / xfrm_algo_aead: variable length key."""
    name = b[:64]
    fields = [('alg_name', 0, 64, r_str(name, None)),
              ('alg_key_len', 64, 4, f'{struct.unpack_from("<I", b, 64)[0]} (bits)')]
    off = 68
    if kind == 'xfrm_algo_auth':
        fields.append(('alg_trunc_len', 68, 4, f'{struct.unpack_from("<I", b, 68)[0]} (bits)'))
        off = 72
    elif kind == 'xfrm_algo_aead':
        fields.append(('alg_icv_len', 68, 4, f'{struct.unpack_from("<I", b, 68)[0]} (bits)'))
        off = 72
    key = b[off:]
    fields.append(('alg_key', off, len(key), '0x' + key.hex() + f' ({len(key)} bytes)'))
    return fields


HEADER_SIZES = {'xfrm_algo': 68, 'xfrm_algo_auth': 72, 'xfrm_algo_aead': 72}


def render_struct(name, b, ctx):
    if name in HEADER_SIZES:
        return algo_struct(name, b)
    if name == 'xfrm_user_tmpl[]':
        out = []
        for i in range(0, len(b), 64):
            out += S['xfrm_user_tmpl'].render(b[i:i + 64], ctx, f'[{i // 64}].', i)
        return out
    if name == 'xfrm_replay_state_esn':
        n = struct.unpack_from('<I', b, 0)[0]
        fl = [(nm, i * 4, 4, str(struct.unpack_from('<I', b, i * 4)[0])) for i, nm in enumerate(
            ['bmp_len', 'oseq', 'seq', 'oseq_hi', 'seq_hi', 'replay_window'])]
        fl.append(('bmp', 24, 4 * n, '0x' + b[24:24 + 4 * n].hex()))
        return fl
    if name in ('rtnl_link_stats', 'rtnl_link_stats64'):
        w = 4 if name == 'rtnl_link_stats' else 8
        vals = struct.unpack(f'<{len(b) // w}{"I" if w == 4 else "Q"}', b[:len(b) // w * w])
        return [('counters', 0, len(b), f'{len(vals)} x u{w * 8}: ' +
                 ' '.join(str(v) for v in vals))]
    st = S[name]
    return st.render(b, ctx)


# --------------------------------------------------------------------------
# decoded tree

class Attr:
    def __init__(self, off, nla_len, nla_type, name, kind, payload):
        self.off = off
        self.len = nla_len
        self.type = nla_type & NLA_TYPE_MASK
        self.raw_type = nla_type
        self.name = name
        self.kind = kind
        self.payload = payload
        self.value = None        # one-line rendering
        self.fields = None       # struct fields [(name, off, size, value)]
        self.children = None     # nested attrs
        self.header = None       # (struct name, fields) for veth peer
        self.note = None

    def type_str(self):
        fl = []
        if self.raw_type & NLA_F_NESTED:
            fl.append('NLA_F_NESTED')
        if self.raw_type & NLA_F_NET_BYTEORDER:
            fl.append('NLA_F_NET_BYTEORDER')
        t = str(self.type)
        if fl:
            t = f'{self.raw_type:#06x}={"|".join(fl)}|{self.type}'
        return t


class Msg:
    def __init__(self, off, length, mtype, flags, seq, pid):
        self.off = off
        self.len = length
        self.type = mtype
        self.flags = flags
        self.seq = seq
        self.pid = pid
        self.type_name = None
        self.flags_name = None
        self.header = None       # (struct name, size, fields)
        self.attrs = []
        self.error = None        # errno for NLMSG_ERROR / NLMSG_DONE
        self.echo = None         # echoed request Msg for NLMSG_ERROR
        self.echo_capped = False
        self.tlvs = []           # ext-ack TLVs
        self.trailing = b''
        self.note = None


def align4(n):
    return (n + 3) & ~3


def decode_attrs(b, base_off, tname, ctx, depth=0):
    tbl = T.get(tname, {})
    out = []
    off = 0
    siblings = {}
    while off + 4 <= len(b):
        nla_len, nla_type = struct.unpack_from('<HH', b, off)
        if nla_len < 4 or off + nla_len > len(b):
            a = Attr(base_off + off, nla_len, nla_type, '!malformed', 'bin', b[off:])
            a.value = f'bad nla_len {nla_len} (remaining {len(b) - off})'
            out.append(a)
            break
        t = nla_type & NLA_TYPE_MASK
        name, kind = tbl.get(t, (f'{tname}_?{t}', 'bin'))
        payload = b[off + 4:off + nla_len]
        a = Attr(base_off + off, nla_len, nla_type, name, kind, payload)
        render_attr(a, base_off + off + 4, ctx, siblings, depth)
        siblings[name] = a
        out.append(a)
        off += align4(nla_len)
    if off < len(b):
        a = Attr(base_off + off, len(b) - off, 0, '!trailing', 'bin', b[off:])
        a.value = hexs(b[off:])
        out.append(a)
    return out


def render_attr(a, poff, ctx, siblings, depth):
    k = a.kind
    p = a.payload
    if k in INT_KINDS:
        fmt = INT_KINDS[k]
        if len(p) == struct.calcsize(fmt):
            v = struct.unpack(fmt, p)[0]
            a.value = f'{k} {v}' + (f' ({v:#x})' if v > 9 else '')
        else:
            a.value = f'{k}?? {hexs(p)}'
    elif k == 'uint':
        if len(p) in (4, 8):
            v = struct.unpack('<I' if len(p) == 4 else '<Q', p)[0]
            a.value = f'uint({len(p) * 8}) {v}'
        else:
            a.value = hexs(p)
    elif k == 'str':
        a.value = 'string ' + cstr(p)
    elif k == 'mac':
        a.value = 'lladdr ' + (mac_str(p) if p else '(empty)')
    elif k == 'ip':
        a.value = f'in{"6" if len(p) == 16 else ""}_addr ' + ip_str(p) if len(p) in (4, 16) \
            else hexs(p)
    elif k == 'flag':
        a.value = 'flag' + ('' if not p else f' (unexpected payload {hexs(p)})')
    elif k in ('u32array', 's32array', 'u64array'):
        w = 8 if k == 'u64array' else 4
        fmt = {'u32array': 'I', 's32array': 'i', 'u64array': 'Q'}[k]
        vals = struct.unpack(f'<{len(p) // w}{fmt}', p[:len(p) // w * w])
        a.value = f'{k[:3]}[{len(vals)}] ' + ' '.join(str(v) for v in vals)
    elif k.startswith('struct:'):
        sname = k[7:]
        try:
            a.fields = render_struct(sname, p, ctx)
            a.value = f'struct {sname} ({len(p)} bytes)'
        except Exception as e:  # noqa: BLE001 - shown in the decode
            a.value = f'struct {sname}?? {e}: {hexs(p)}'
    elif k.startswith('nest:'):
        a.children = decode_attrs(p, poff, k[5:], ctx, depth + 1)
        a.value = 'nested'
    elif k == 'linkinfo_data':
        kind_attr = siblings.get('IFLA_INFO_KIND')
        lk = kind_attr.payload.rstrip(b'\0').decode() if kind_attr else None
        tn = LINKINFO_DATA.get(lk)
        if tn:
            a.children = decode_attrs(p, poff, tn, ctx, depth + 1)
            a.value = f'nested ({tn}_* for kind "{lk}")'
        else:
            a.value = f'opaque data for kind {lk!r}: {hexs(p)}'
    elif k == 'linkinfo_slave_data':
        kind_attr = siblings.get('IFLA_INFO_SLAVE_KIND')
        lk = kind_attr.payload.rstrip(b'\0').decode() if kind_attr else None
        tn = LINKINFO_SLAVE_DATA.get(lk)
        if tn:
            a.children = decode_attrs(p, poff, tn, ctx, depth + 1)
            a.value = f'nested ({tn}_* for slave kind "{lk}")'
        else:
            a.value = hexs(p)
    elif k == 'veth_peer':
        hdr = S['ifinfomsg']
        a.header = ('ifinfomsg', hdr.render(p[:16], {}))
        a.children = decode_attrs(p[16:], poff + 16, 'IFLA', ctx, depth + 1)
        a.value = 'struct ifinfomsg (16 bytes) + IFLA_* attributes'
    elif k == 'af_spec':
        kids = []
        off = 0
        while off + 4 <= len(p):
            ln, ty = struct.unpack_from('<HH', p, off)
            if ln < 4:
                break
            fam = ty & NLA_TYPE_MASK
            fname, tn = AF_SPEC.get(fam, (f'AF_{fam}', None))
            sub = Attr(poff + off, ln, ty, fname, 'nest', p[off + 4:off + ln])
            if tn:
                sub.children = decode_attrs(sub.payload, poff + off + 4, tn, ctx, depth + 2)
                sub.value = f'nested ({tn}_*)'
            else:
                sub.value = hexs(sub.payload)
            kids.append(sub)
            off += align4(ln)
        a.children = kids
        a.value = 'nested, one attribute per address family'
    else:
        a.value = hexs(p) if p else '(empty)'


def decode_buffer(data, protocol):
    msgs = []
    off = 0
    while off + NLMSG_HDRLEN <= len(data):
        ln, ty, fl, seq, pid = struct.unpack_from('<IHHII', data, off)
        if ln < NLMSG_HDRLEN:
            break
        m = decode_message(data[off:off + ln], off, protocol)
        msgs.append(m)
        off += align4(ln)
    trailing = data[off:]
    return msgs, trailing


def msg_class(protocol, ty):
    if ty < 16:
        return 'ctl'
    if protocol == 'NETLINK_XFRM':
        name = XFRM_TYPES.get(ty, '')
        if any(x in name for x in ('NEW', 'UPD', 'ALLOCSPI', 'SETDEFAULT')):
            return 'new'
        if 'DEL' in name or 'FLUSH' in name:
            return 'del'
        if 'GET' in name:
            return 'get'
        return 'other'
    return {0: 'new', 1: 'del', 2: 'get', 3: 'set'}[ty % 4]


def nlm_flags_str(fl, table, cls):
    s = flags_str(fl, table)
    if cls == 'get' and fl & 0x300 == 0x300:
        s = s.replace('NLM_F_ROOT|NLM_F_MATCH', 'NLM_F_DUMP')
    return s


def decode_message(b, off, protocol):
    ln, ty, fl, seq, pid = struct.unpack_from('<IHHII', b, 0)
    m = Msg(off, ln, ty, fl, seq, pid)
    if ty in NLMSG_TYPES:
        m.type_name = NLMSG_TYPES[ty]
    elif protocol == 'NETLINK_XFRM':
        m.type_name = XFRM_TYPES.get(ty, f'XFRM_MSG_?{ty}')
    else:
        m.type_name = RTM_TYPES.get(ty, f'RTM_?{ty}')
    cls = msg_class(protocol, ty)
    extra = {'new': NLM_F_NEW, 'del': NLM_F_DEL, 'get': NLM_F_GET}.get(cls, [])
    if ty == 2 or ty == 3:
        extra = NLM_F_ACKF
    m.flags_name = nlm_flags_str(fl, NLM_F_COMMON + extra, cls)
    body = b[NLMSG_HDRLEN:]
    if ty == 2:   # NLMSG_ERROR
        m.error = struct.unpack_from('<i', body, 0)[0]
        inner = body[4:]
        if len(inner) >= NLMSG_HDRLEN:
            iln = struct.unpack_from('<I', inner, 0)[0]
            capped = bool(fl & 0x100) or m.error == 0
            if capped or iln > len(inner):
                echo_bytes = inner[:NLMSG_HDRLEN]
                m.echo_capped = True
            else:
                echo_bytes = inner[:iln]
            echo = decode_message(echo_bytes, off + NLMSG_HDRLEN + 4, protocol) \
                if not m.echo_capped else header_only(echo_bytes, off + NLMSG_HDRLEN + 4, protocol)
            m.echo = echo
            rest_off = 4 + align4(len(echo_bytes))
            if fl & 0x200:
                m.tlvs = decode_attrs(body[rest_off:], off + NLMSG_HDRLEN + rest_off,
                                      'NLMSGERR', {})
            elif body[rest_off:]:
                m.trailing = body[rest_off:]
        return m
    if ty == 3:   # NLMSG_DONE
        if len(body) >= 4:
            m.error = struct.unpack_from('<i', body, 0)[0]
            if fl & 0x200:
                m.tlvs = decode_attrs(body[4:], off + NLMSG_HDRLEN + 4, 'NLMSGERR', {})
        return m
    if ty < 16:
        m.trailing = body
        return m
    hname, atable = header_for(protocol, ty, len(body), fl)
    if hname is None and atable:
        # xfrm GETSA/GETPOLICY dump requests: attributes directly after nlmsghdr
        m.note = 'dump request: no fixed header, attributes follow nlmsghdr directly'
        m.attrs = decode_attrs(body, off + NLMSG_HDRLEN, atable, {})
        return m
    ctx = {}
    if hname is None:
        if body:
            m.trailing = body
        return m
    st = S[hname]
    hb = body[:st.size]
    # family fields of xfrm structs: selector family vs SA family
    if protocol == 'NETLINK_XFRM':
        prime_xfrm_ctx(hname, hb, ctx)
    fields = st.render(hb, ctx) if len(hb) == st.size else None
    if fields is None:
        m.header = (hname, st.size, [('!short', 0, len(hb), hexs(hb))])
        return m
    m.header = (hname, st.size, fields)
    if atable:
        if protocol == 'NETLINK_XFRM':
            ctx['family'] = ctx.get('sa_family', ctx.get('sel_family', ctx.get('family')))
        m.attrs = decode_attrs(body[align4(st.size):], off + NLMSG_HDRLEN + align4(st.size),
                               atable, ctx)
    return m


def prime_xfrm_ctx(hname, hb, ctx):
    if hname == 'xfrm_usersa_id' and len(hb) >= 22:
        ctx['family'] = struct.unpack_from('<H', hb, 20)[0]
    if len(hb) < 56:
        return
    if hname in ('xfrm_usersa_info', 'xfrm_userpolicy_info', 'xfrm_userpolicy_id'):
        ctx['sel_family'] = struct.unpack_from('<H', hb, 40)[0]
    if hname == 'xfrm_usersa_info' and len(hb) >= 214:
        ctx['sa_family'] = ctx['family'] = struct.unpack_from('<H', hb, 212)[0]
    if hname in ('xfrm_userpolicy_info', 'xfrm_userpolicy_id'):
        ctx['family'] = ctx['sel_family']


def header_only(b, off, protocol):
    ln, ty, fl, seq, pid = struct.unpack_from('<IHHII', b, 0)
    m = Msg(off, ln, ty, fl, seq, pid)
    if protocol == 'NETLINK_XFRM':
        m.type_name = XFRM_TYPES.get(ty, NLMSG_TYPES.get(ty, f'?{ty}'))
    else:
        m.type_name = RTM_TYPES.get(ty, NLMSG_TYPES.get(ty, f'?{ty}'))
    cls = msg_class(protocol, ty)
    extra = {'new': NLM_F_NEW, 'del': NLM_F_DEL, 'get': NLM_F_GET}.get(cls, [])
    m.flags_name = nlm_flags_str(fl, NLM_F_COMMON + extra, cls)
    m.note = 'header only (NLM_F_CAPPED or success ack: payload not echoed)'
    return m


def header_for(protocol, ty, body_len, flags=0):
    if protocol == 'NETLINK_XFRM':
        name = XFRM_TYPES.get(ty, '')
        if body_len == 0:
            return None, None
        if name in ('XFRM_MSG_GETSA', 'XFRM_MSG_GETPOLICY') and flags & 0x300 == 0x300:
            return None, 'XFRMA'   # kernel: nlmsg_parse(cb->nlh, 0, ...) in xfrm_dump_sa
        if name in ('XFRM_MSG_NEWSA', 'XFRM_MSG_UPDSA'):
            return 'xfrm_usersa_info', 'XFRMA'
        if name in ('XFRM_MSG_DELSA', 'XFRM_MSG_GETSA'):
            if body_len < 24:
                return None, None
            return 'xfrm_usersa_id', 'XFRMA'
        if name in ('XFRM_MSG_NEWPOLICY', 'XFRM_MSG_UPDPOLICY'):
            return 'xfrm_userpolicy_info', 'XFRMA'
        if name in ('XFRM_MSG_DELPOLICY', 'XFRM_MSG_GETPOLICY'):
            return 'xfrm_userpolicy_id', 'XFRMA'
        return None, None
    base = ty & ~3
    if base == 16:
        return 'ifinfomsg', 'IFLA'
    if base == 20:
        return 'ifaddrmsg', 'IFA'
    if base == 24:
        return 'rtmsg', 'RTA'
    if base == 28:
        return 'ndmsg', 'NDA'
    return None, None


# --------------------------------------------------------------------------
# fixture files

HEX_LINE = re.compile(r'^[0-9a-f]{2}( [0-9a-f]{2}){0,15}$')
REQUIRED = ['command', 'direction', 'kernel', 'iproute2']


class Fixture:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        self.comments = []
        self.meta = {}
        self.multi = {}
        data = bytearray()
        hex_lines = []
        with open(path, encoding='utf-8') as f:
            text = f.read()
        if not text.endswith('\n'):
            raise ValueError(f'{path}: missing final newline')
        for i, line in enumerate(text.split('\n')[:-1], 1):
            if line.startswith('#'):
                if hex_lines:
                    raise ValueError(f'{path}:{i}: comment after hex data')
                c = line[1:].strip()
                self.comments.append(c)
                k, sep, v = c.partition(':')
                if sep and ' ' not in k.strip():
                    self.meta.setdefault(k.strip(), v.strip())
                if c.startswith('ifindex '):
                    n, _, idx = c[8:].partition('=')
                    self.multi.setdefault('ifindex', []).append((n, int(idx)))
                continue
            if not HEX_LINE.match(line):
                raise ValueError(f'{path}:{i}: not a hex line: {line!r}')
            hex_lines.append(line)
            data += bytes.fromhex(line)
        for j, l in enumerate(hex_lines[:-1]):
            if len(l.split(' ')) != 16:
                raise ValueError(f'{path}: hex line {j + 1} has fewer than 16 bytes')
        keys = [c.partition(':')[0] for c in self.comments[:4]]
        if keys != REQUIRED:
            raise ValueError(f'{path}: first comment lines must be {REQUIRED}, got {keys}')
        if self.meta['direction'] not in ('request', 'reply'):
            raise ValueError(f'{path}: bad direction')
        if 'length' in self.meta and int(self.meta['length']) != len(data):
            raise ValueError(f'{path}: # length: {self.meta["length"]} but {len(data)} bytes')
        self.data = bytes(data)
        self.protocol = self.meta.get('protocol', 'NETLINK_ROUTE')


# --------------------------------------------------------------------------
# rendering

def render_fields(fields, indent, base):
    out = []
    for name, off, size, val in fields:
        out.append(f'{indent}+{off:<3d} {name:<24} [{size}] {val}')
    return out


def render_attrs(attrs, indent):
    out = []
    for a in attrs:
        pad = align4(a.len) - a.len
        padtxt = f' +{pad} pad' if pad else ''
        out.append(f'{indent}@{a.off:<5d} {a.name:<34} type={a.type_str():<6} '
                   f'len={a.len:<4d}{padtxt:<8} {a.value}')
        if a.header:
            out.append(f'{indent}    {a.header[0]}:')
            out += render_fields(a.header[1], indent + '      ', 0)
        if a.fields:
            out += render_fields(a.fields, indent + '      ', 0)
        if a.children is not None:
            out += render_attrs(a.children, indent + '    ')
    return out


def render_msg(m, indent=''):
    out = [f'{indent}nlmsghdr @{m.off}: len={m.len} type={m.type_name}({m.type}) '
           f'flags={m.flags:#06x} {m.flags_name} seq={m.seq} pid={m.pid}']
    if m.note:
        out.append(f'{indent}  ({m.note})')
    if m.error is not None:
        out.append(f'{indent}  error: {errname(m.error)}')
    if m.echo is not None:
        out.append(f'{indent}  echoed request{" (capped: header only)" if m.echo_capped else ""}:')
        out += render_msg(m.echo, indent + '    ')
    if m.header:
        hname, hsize, fields = m.header
        out.append(f'{indent}  struct {hname} ({hsize} bytes):')
        out += render_fields(fields, indent + '    ', 0)
    if m.attrs:
        out.append(f'{indent}  attributes:')
        out += render_attrs(m.attrs, indent + '    ')
    if m.tlvs:
        out.append(f'{indent}  extended ack TLVs:')
        out += render_attrs(m.tlvs, indent + '    ')
    if m.trailing:
        out.append(f'{indent}  payload: {hexs(m.trailing)}')
    return out


def decode_fixture(fx):
    msgs, trailing = decode_buffer(fx.data, fx.protocol)
    return msgs, trailing


def render_fixture(fx):
    msgs, trailing = decode_fixture(fx)
    out = [f'{fx.name}: {fx.meta["direction"]}, {len(fx.data)} bytes, {fx.protocol}, '
           f'{len(msgs)} message(s)']
    for m in msgs:
        out += render_msg(m, '  ')
    if trailing:
        z = 'all zero' if not any(trailing) else 'NON-ZERO'
        out.append(f'  trailing {len(trailing)} bytes after the last message ({z})')
    return out


def compact_attrs(attrs):
    parts = []
    for a in attrs:
        s = f'{a.name}({a.type_str()}) len {a.len}'
        if a.kind in INT_KINDS or a.kind in ('str', 'mac', 'ip', 'uint', 'flag'):
            s += f' = {short_value(a)}'
        if a.fields:
            s += ' = ' + a.value.split(' (')[0] + '{' + compact_fields(a.fields) + '}'
        if a.header:
            s += ' {ifinfomsg{' + compact_fields(a.header[1]) + '}, ' + \
                compact_attrs(a.children) + '}'
        elif a.children is not None:
            s += ' {' + compact_attrs(a.children) + '}'
        parts.append(s)
    return ', '.join(parts)


def short_value(a):
    v = a.value
    for pre in ('string ', 'lladdr ', 'in6_addr ', 'in_addr ', 'flag'):
        if v.startswith(pre):
            v = v[len(pre):]
    v = v.replace(' (NUL-terminated)', '\\0').replace(' (no NUL)', '')
    if a.kind in INT_KINDS or a.kind == 'uint':
        v = v.split(' ', 1)[1] if ' ' in v else v
        v = f'{a.kind}:{v}' if a.kind.startswith('be') or a.kind == 's32' else v
    return v


def compact_fields(fields):
    """Non-zero struct fields as `name=value`; UINT64_MAX (XFRM_INF) as INF."""
    out = []
    for name, off, size, val in fields:
        if name.split('.')[-1].startswith('__'):
            continue
        v = val
        if v in ('0', '0x0', '0.0.0.0?', '::') or v.startswith(('0 ', '0x0 ')):
            continue
        if v == '18446744073709551615':
            v = 'INF'
        parts = v.split(' ', 1)
        if len(parts) == 2 and re.fullmatch(r'-?\d+|0x[0-9a-f]+', parts[0]) and \
                not parts[1].startswith('('):
            v = f'{parts[1]}({parts[0]})' if not parts[0].startswith('0x') else parts[1]
        out.append(f'{name}={v}')
    return ' '.join(out)


def summary_msg(m):
    s = f'{m.type_name} [{m.flags_name}]'
    if m.error is not None:
        s += f' error={errname(m.error)}'
    if m.echo is not None:
        s += f'; echo of {m.echo.type_name}' + (' (capped)' if m.echo_capped else
                                                f' ({m.echo.len} bytes, full)')
    if m.tlvs:
        s += '; ext-ack: ' + compact_attrs(m.tlvs)
    if m.header:
        s += f'; {m.header[0]}' + '{' + compact_fields(m.header[2]) + '}'
    if m.attrs:
        s += '; ' + compact_attrs(m.attrs)
    return s


# --------------------------------------------------------------------------
# README

def md_escape(s):
    return s.replace('|', '\\|')


def fixture_order(names, script_path):
    """Order fixtures as they are captured in scripts/capture-fixtures."""
    order = {}
    if os.path.exists(script_path):
        with open(script_path, encoding='utf-8') as f:
            for m in re.finditer(r'^cap (\S+)(?:.*?--reply (\S+))?', f.read(), re.M):
                for n in m.groups():
                    if n and n not in order:
                        order[n] = len(order)

    def key(n):
        stem = n[:-4]
        base = re.sub(r'-\d+$', '', stem)
        idx = order.get(stem, order.get(base, 10 ** 6))
        sub = int(stem.rsplit('-', 1)[1]) if base != stem else 0
        return (idx, sub, n)
    return sorted(names, key=key)


def write_readme(outdir):
    here = os.path.dirname(os.path.abspath(__file__))
    names = [n for n in os.listdir(outdir) if n.endswith('.hex')]
    names = fixture_order(names, os.path.join(here, 'capture-fixtures'))
    fixtures = [Fixture(os.path.join(outdir, n)) for n in names]
    if not fixtures:
        sys.exit('no fixtures')
    f0 = fixtures[0]
    idx = {}
    for fx in fixtures:
        for n, i in fx.multi.get('ifindex', []):
            idx[n] = i
    lines = []
    w = lines.append
    w('# Netlink wire fixtures')
    w('')
    w('Byte-exact netlink buffers captured from iproute2 and the kernel, used by the')
    w('`NetlinkTests` encoder/decoder tests. **Generated — do not edit by hand.**')
    w('Regenerate (as root, on a Linux host) with:')
    w('')
    w('```sh')
    w('sudo scripts/capture-fixtures            # writes Tests/NetlinkTests/Fixtures/*.hex + this README')
    w('scripts/nlfixture-decode.py Tests/NetlinkTests/Fixtures/route-add.hex   # decode one')
    w('```')
    w('')
    w('## How they were captured')
    w('')
    w(f'- kernel: `{f0.meta["kernel"]}`')
    w(f'- iproute2: `{f0.meta["iproute2"]}`')
    w('- `scripts/capture-fixtures` creates a fresh network namespace with a random name')
    w('  (deleted by an EXIT trap), sets `net.ipv6.conf.{all,default}.addr_gen_mode=1` in it')
    w('  (no automatic IPv6 link-local addresses, so no DAD/RS noise and no fe80::/64 routes),')
    w('  then runs each `ip` / `bridge` command inside it under')
    w('  `strace -f -yy -s 1000000 -xx -e trace=sendmsg,recvmsg,sendto,recvfrom -e write=all -e read=all`.')
    w('  `-e write=all`/`-e read=all` make strace hex-dump every buffer (for reads: exactly the')
    w('  syscall\'s return value), `-yy` names the socket protocol (`NETLINK:[ROUTE:…]` vs `[XFRM:…]`).')
    w('- `scripts/nlcapture.py` parses the strace log. The **request** fixture is the last buffer')
    w('  the command sent (iproute2 often sends helper requests first: an empty `RTM_NEWLINK` probe')
    w('  for `ip link`, an `RTM_GETLINK` to resolve `dev NAME`, a link dump for `bridge`/`ip neigh`);')
    w('  the **reply** fixtures are the non-`MSG_PEEK` `recvmsg` buffers on the same socket after it.')
    w('  A reply split over several `recvmsg` calls is stored as `NAME-1.hex`, `NAME-2.hex`, …')
    w('- veth and bridge MACs (random by default) are pinned after creation with `ip link set … address`')
    w('  (veth0 is captured as `link-set-address.hex`; veth1 and br0 are set without capture).')
    w('- Devices are created in a fixed order, so ifindexes are deterministic: ' +
      ', '.join(f'{n}={i}' for n, i in sorted(idx.items(), key=lambda x: x[1])) + '.')
    w('- Not deterministic between runs: `nlmsg_seq` (iproute2 seeds it with `time(NULL)`),')
    w('  `nlmsg_pid` in kernel replies (the socket\'s port id = the `ip` process id) and counters,')
    w('  timers and timestamps inside replies (`*_cacheinfo`, xfrm `curlft.add_time`), and the order')
    w('  of entries in hash-ordered dumps (e.g. the two neighbours). Buffer lengths are stable.')
    w('  Tests must ignore `nlmsg_seq`/`nlmsg_pid` (also inside echoed request headers).')
    w('')
    w('## File format')
    w('')
    w('UTF-8 text. Lines starting with `#` are comments; the first four are always')
    w('`# command: …`, `# direction: request|reply`, `# kernel: …`, `# iproute2: …`. Further')
    w('comments: `# protocol: NETLINK_ROUTE|NETLINK_XFRM` (needed to decode: rtnetlink and xfrm')
    w('message types overlap), `# syscall:`, `# length:` (byte count), `# buffer: i of n`,')
    w('`# ifindex NAME=N` (one per device present before/after the command), `# trailing:`,')
    w('`# note:`, `# stderr:` (what iproute2 printed, for failing commands).')
    w('All other lines are lowercase hex byte pairs separated by single spaces, 16 bytes per line')
    w('(the last line may be shorter). The bytes are exactly one `sendmsg`/`sendto`/`recvmsg` buffer.')
    w('')
    w('## Observations (from this capture)')
    w('')
    for line in OBSERVATIONS.strip('\n').split('\n'):
        w(line)
    w('')
    w('## Index')
    w('')
    w('Attribute notation: `NAME(type) len N = value`, where `len` is `nla_len` (header + payload,')
    w('excluding the alignment padding that follows), and `{…}` encloses nested attributes in wire')
    w('order. Strings are shown with `\\0` when the NUL terminator is part of the attribute.')
    w('`struct{…}` lists only the non-zero fields (`{}` = all zero); `INF` is `UINT64_MAX`.')
    w('Multi-byte integers are host (little) endian unless shown as `be16:`/`be32:`.')
    w('')
    w('| file | command | bytes | contents |')
    w('|---|---|---|---|')
    for fx in fixtures:
        msgs, trailing = decode_fixture(fx)
        if fx.meta['direction'] == 'request' or len(msgs) <= 2 and all(
                m.type < 16 for m in msgs):
            desc = ' ⟶ '.join(summary_msg(m) for m in msgs)
        else:
            counts = {}
            for m in msgs:
                counts[m.type_name] = counts.get(m.type_name, 0) + 1
            desc = ', '.join(f'{c}× {t}' for t, c in counts.items())
            desc += ' (' + '; '.join(
                dump_item(m) for m in msgs if m.type >= 16) + ')' if any(
                m.type >= 16 for m in msgs) else ''
            if any(m.type == 3 for m in msgs) or any(m.type == 2 for m in msgs):
                desc += '; ' + '; '.join(summary_msg(m) for m in msgs if m.type < 16)
        if trailing:
            desc += f' + {len(trailing)} trailing zero bytes'
        w(f'| [`{fx.name}`](#{anchor(fx.name)}) | `{md_escape(fx.meta["command"])}` | '
          f'{len(fx.data)} | {md_escape(desc)} |')
    w('')
    w('## Decoded fixtures')
    w('')
    w('Offsets (`@N`) are from the start of the buffer; struct field offsets (`+N`) are from the')
    w('start of the struct. `[N]` is the field size in bytes.')
    w('')
    for fx in fixtures:
        w(f'### {fx.name}')
        w('')
        w(f'`{fx.meta["command"]}` — {fx.meta["direction"]}, {len(fx.data)} bytes, {fx.protocol}')
        for c in fx.comments:
            if c.startswith(('note:', 'stderr:', 'trailing:', 'buffer:')):
                w(f'<br>{md_escape(c)}')
        w('')
        body = render_fixture(fx)[1:]
        big = fx.meta['direction'] == 'reply' and len(body) > 60
        if big:
            w('<details><summary>decode</summary>')
            w('')
        w('```text')
        for line in body:
            w(line)
        w('```')
        if big:
            w('')
            w('</details>')
        w('')
    with open(os.path.join(outdir, 'README.md'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines).rstrip('\n') + '\n')


def dump_item(m):
    s = ''
    if m.header and m.header[0] in ('ifinfomsg', 'ifaddrmsg', 'ndmsg', 'rtmsg'):
        pass
    for a in m.attrs:
        if a.name in ('IFLA_IFNAME', 'IFA_ADDRESS', 'NDA_DST', 'NDA_LLADDR', 'RTA_DST',
                      'IFA_LOCAL', 'RTA_TABLE'):
            s += f'{a.name}={short_value(a)} '
    if m.header and m.header[0] == 'xfrm_userpolicy_info':
        d = dict((f[0], f[3]) for f in m.header[2])
        s += f'dir={d["dir"].split()[-1]} '
    return s.strip() or m.type_name


def anchor(name):
    return re.sub(r'[^a-z0-9 -]', '', name.lower()).replace(' ', '-')


OBSERVATIONS = r"""
(Written from the checked-in capture; re-check after regenerating on another kernel/iproute2.)

- **Socket options.** iproute2 sets `NETLINK_EXT_ACK` and `NETLINK_GET_STRICT_CHK` on its
  rtnetlink socket and only `NETLINK_EXT_ACK` on the xfrm socket. It does **not** set
  `NETLINK_CAP_ACK`, so error replies echo the *whole* request; success acks (`error=0`) are
  always 36 bytes with `NLM_F_CAPPED` (the kernel never echoes the payload of a success ack).
- **Request flags.** `ip link add`, `ip addr add`, `ip neigh add`, `ip route add` and
  `bridge fdb add` send `NLM_F_REQUEST|NLM_F_ACK|NLM_F_EXCL|NLM_F_CREATE` (0x0605);
  `ip neigh replace` / `ip route replace` send `REQUEST|ACK|CREATE|REPLACE` (0x0505);
  `bridge fdb append` sends `REQUEST|ACK|CREATE|APPEND` (0x0c05); `ip link set` and all deletes
  send `REQUEST|ACK` (0x0005). **`ip xfrm policy add` / `ip xfrm state add` send only
  `REQUEST|ACK` (0x0005)** — the message type (`NEWPOLICY`/`NEWSA` vs `UPDPOLICY`/`UPDSA`)
  carries the create/replace semantics. `ip xfrm policy get` sends `NLM_F_REQUEST` only and gets
  the policy back as a plain `XFRM_MSG_NEWPOLICY` (flags 0). Dumps are `REQUEST|DUMP` (0x0301),
  no ACK; `ip link show dev weft0` is a non-dump `RTM_GETLINK` (flags 0x0001) answered by a single
  `RTM_NEWLINK` (flags 0), not an ack.
- **Helper requests (not stored).** Every `ip link …` first sends an empty `RTM_NEWLINK` with
  `nlmsg_seq=0` (a feature probe; the kernel answers `-ENODEV`). `ip link set`, `ip addr add`,
  `ip link del`, `ip route add/del` resolve `dev NAME` with a separate `RTM_GETLINK` on a second
  rtnetlink socket (`IFLA_EXT_MASK=9` (`RTEXT_FILTER_VF|RTEXT_FILTER_SKIP_STATS`) + `IFLA_IFNAME`);
  `bridge fdb …` and `ip neigh …` do a full link dump instead; `ip route show` resolves the
  ifindexes it prints with `RTM_GETLINK` requests on that second socket after the dump. The real requests therefore carry ifindexes
  (`ifi_index`, `ifa_index`, `ndm_ifindex`, `RTA_OIF`), never names.
- **`IFLA_EXT_MASK`.** `ip link show` sends `ifinfomsg{ifi_family=AF_PACKET}` + `IFLA_EXT_MASK=1`
  (`RTEXT_FILTER_VF`); `ip link show dev weft0` sends `ifi_family=AF_PACKET`, `IFLA_IFNAME`,
  `IFLA_EXT_MASK=1`.
- **Dump request padding.** `ip addr show`, `ip route show` (128 bytes) and `ip neigh show`,
  `bridge fdb show` (256 bytes) send `sizeof(struct req)`: the message (`nlmsg_len` = 24/28)
  followed by zeroed, unused attribute space. The kernel stops at a header with
  `nlmsg_len < 16`, so the zeros are ignored; an encoder should produce only the first
  `nlmsg_len` bytes. `ip xfrm policy list` sends a bare 16-byte header; `ip xfrm state list`
  sends the header plus an all-zero `XFRMA_ADDRESS_FILTER` (36-byte struct) **directly after
  the nlmsghdr** (xfrm dumps have no fixed header).
- **Attribute order.** vxlan: `IFLA_ADDRESS`, `IFLA_MTU`, `IFLA_IFNAME`, `IFLA_LINKINFO{
  IFLA_INFO_KIND, IFLA_INFO_DATA{ID, LOCAL, LEARNING, PORT}}`. iproute2 always emits
  `IFLA_VXLAN_LEARNING` (0 with `nolearning`, 1 otherwise) and omits `IFLA_VXLAN_PORT` without
  `dstport` (the kernel then uses 8472). addresses: `IFA_LOCAL` then `IFA_ADDRESS` (same value);
  `nodad` is `ifa_flags=IFA_F_NODAD` in the header, no `IFA_FLAGS` attribute. `bridge fdb`:
  `NDA_LLADDR` then `NDA_DST`; `ip neigh`: `NDA_DST` then `NDA_LLADDR`. routes: `RTA_DST`,
  `RTA_GATEWAY`, `RTA_OIF`.
- **Strings.** `IFLA_IFNAME` (also the veth peer's) is NUL-terminated (`"weft0\0"`, nla_len 10);
  `IFLA_INFO_KIND` is **not** (`"vxlan"` nla_len 9, `"veth"` 8, `"bridge"` 10). Kernel replies
  include the NUL in both.
- **`NLA_F_NESTED`.** Never set by iproute2 6.1 in these requests (`IFLA_LINKINFO`,
  `IFLA_INFO_DATA`, `VETH_INFO_PEER` are plain). In replies the kernel sets it only on the empty
  `IFLA_DEVLINK_PORT` and `IFLA_DPLL_PIN` nests (type 0x803e / 0x8041); `IFLA_LINKINFO`,
  `IFLA_AF_SPEC`, `IFLA_XDP` come back without it. A decoder must mask `0xc000` off `nla_type`.
- **veth.** `VETH_INFO_PEER`'s payload is a full 16-byte `ifinfomsg` followed by `IFLA_*`
  attributes (here just `IFLA_IFNAME`). The peer gets the lower ifindex (veth1=3, veth0=4).
- **neigh/fdb details.** `bridge fdb add/append … self permanent` → `ndm_family=AF_BRIDGE`,
  `ndm_state=NUD_NOARP|NUD_PERMANENT` (0xc0), `ndm_flags=NTF_SELF`; `bridge fdb del` sends the
  same state/flags. `ip neigh add … nud permanent` → `ndm_state=NUD_PERMANENT` (0x80),
  `ndm_type=0`; `ip neigh del` also sends `ndm_state=NUD_PERMANENT` and only `NDA_DST`.
- **Routes.** `onlink` is `rtm_flags=RTNH_F_ONLINK` (4); `proto 87` is `rtm_protocol=87`
  (without `proto`, iproute2 sends `RTPROT_BOOT`=3). `table 100` is only `rtm_table=100` —
  iproute2 adds `RTA_TABLE` only for ids ≥ 256 — but the kernel's dump reply carries
  `RTA_TABLE` for every route. `scope link` → `rtm_scope=RT_SCOPE_LINK`; a gateway route gets
  `RT_SCOPE_UNIVERSE`. `ip route del` sends `rtm_scope=RT_SCOPE_NOWHERE`, `rtm_type=RTN_UNSPEC`.
  Route dump replies have `NLM_F_MULTI|NLM_F_DUMP_FILTERED` (0x22).
  Gotcha: an `onlink` gateway route fails with `-EINVAL` "Nexthop has invalid gateway" in a
  namespace that has no IPv4 address at all (no local table yet, so the gateway classifies as
  broadcast); here `ip addr add 192.0.2.1/24 dev veth0` runs first, `ip link set lo up` also works.
- **Error replies.**
  - `ip link add weft0 type vxlan id 42` (exists): `-EEXIST` (-17), flags 0, no ext-ack TLVs.
  - `ip route add 10.244.9.0/24 via 10.244.9.1 dev weft0` (no onlink): `-ENETUNREACH` (-101),
    `NLM_F_ACK_TLVS`, `NLMSGERR_ATTR_MSG="Nexthop has invalid gateway"` (no `NLMSGERR_ATTR_OFFS`).
  - `ip xfrm state add … aead 'rfc4106(gcm(aes))' …`: `-ENOSYS` (-38),
    `NLMSGERR_ATTR_MSG="Requested AEAD algorithm not found"`.
  - `ip xfrm state add … enc 'cbc(aes)' … auth-trunc 'hmac(sha256)' …`: `-EPROTONOSUPPORT`
    (-93), `NLMSGERR_ATTR_MSG="Requested type not found"` (the algorithms resolve; ESP does not).
  - `ip xfrm state delete …` (no such SA): `-ESRCH` (-3), no TLVs.
  iproute2 prints `Error: <msg>.` for an ext-ack message, else `RTNETLINK answers: <strerror>`.
  `NLMSG_DONE` of a successful dump is 20 bytes (`int error = 0`), flags `NLM_F_MULTI`, and
  arrives in its own `recvmsg` buffer here, except for the small `ip neigh show` dump.
- **xfrm encoding.** Struct sizes: `xfrm_usersa_info` 224, `xfrm_userpolicy_info` 168,
  `xfrm_usersa_id` 24, `xfrm_userpolicy_id` 64, `xfrm_selector` 56, `xfrm_user_tmpl` 64,
  `xfrm_algo` 68+key, `xfrm_algo_auth`/`xfrm_algo_aead` 72+key; internal padding is zero.
  Addresses are 16-byte `xfrm_address_t` (IPv4 in the first 4 bytes). SPI, selector ports and
  port masks are big endian; reqid, mark, priority, key lengths are host endian; key lengths
  are in **bits** (aead 288 = 32-byte key + 4-byte salt, icv 128). `sel … dport 4789` sets
  `dport_mask=0xffff`; `sel` prefix lengths default to 32. Unset lifetime limits are
  `XFRM_INF` (`UINT64_MAX`), times 0. `replay-window 32` goes in `xfrm_usersa_info.replay_window`
  (no `XFRMA_REPLAY_*`); `output-mark 0x42` is `XFRMA_SET_MARK` only (no `XFRMA_SET_MARK_MASK`).
  Without `sel`, the SA selector is all zero (family `AF_UNSPEC`). Policy templates get
  `aalgos=ealgos=calgos=0xffffffff`, `optional=0` (level required), `share=0`, `spi=0`.
  `ip xfrm policy get/delete` send `xfrm_userpolicy_id` (selector + dir, index 0) + `XFRMA_MARK`;
  `ip xfrm state delete` sends `xfrm_usersa_id` + `XFRMA_SRCADDR`. The kernel adds
  `XFRMA_POLICY_TYPE` (6-byte struct, nla_len 10) before `XFRMA_MARK` in policy replies and
  assigns `index` (here out=1, in=8).
"""


# --------------------------------------------------------------------------

def main(argv):
    if not argv or argv[0] in ('-h', '--help'):
        print(__doc__)
        return 0
    if argv[0] == '--readme':
        write_readme(argv[1])
        return 0
    if argv[0] == '--check':
        d = argv[1]
        n = 0
        for name in sorted(os.listdir(d)):
            if name.endswith('.hex'):
                fx = Fixture(os.path.join(d, name))
                msgs, trailing = decode_fixture(fx)
                if any(trailing):
                    raise ValueError(f'{name}: non-zero trailing bytes')
                n += 1
        print(f'{n} fixtures OK')
        return 0
    summary = argv[0] == '--summary'
    for p in argv[1:] if summary else argv:
        fx = Fixture(p)
        if summary:
            msgs, _ = decode_fixture(fx)
            for m in msgs:
                print(f'{fx.name}: {summary_msg(m)}')
        else:
            print('\n'.join(render_fixture(fx)))
            print()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
