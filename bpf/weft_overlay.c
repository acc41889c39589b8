// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * weft_overlay_ingress: tc (clsact) ingress filter on weft0, the VXLAN device. It sees
 * the inner Ethernet frame after decapsulation. Direct action: TC_ACT_OK / TC_ACT_SHOT.
 * Every frame is counted, passed or dropped.
 *
 *  1. Ethernet header unreadable                           -> drop, WEFT_DROP_MALFORMED
 *  2. ARP                                                  -> pass, WEFT_PASS_OVERLAY
 *  3. ethertype not IPv4/IPv6 (Weft never carries one)     -> drop, WEFT_DROP_MALFORMED
 *  4. sending node:
 *     (skb->mark & mark_mask) == mark_tag, mark_mask != 0  -> node = skb->mark & 0xffff
 *        (authenticated: the output-mark of the Weft inbound SA that decrypted the
 *        frame; the mark survives the VXLAN decap within one namespace)
 *     else weft_vtep_macs[inner source MAC]                -> node
 *        (UNAUTHENTICATED fallback for unencrypted mode: any peer allowed to send
 *        plaintext VXLAN can put any VTEP MAC there)
 *     else                                                 -> drop, WEFT_DROP_UNKNOWN_SENDER
 *  5. weft_quarantine[node] != 0                           -> drop, WEFT_DROP_QUARANTINED
 *  6. IPv6                                                 -> pass, WEFT_PASS_OVERLAY
 *        (not enforced yet: pod CIDRs and the ipcache are IPv4-only)
 *  7. IPv4 header unreadable, version != 4 or ihl < 5      -> drop, WEFT_DROP_MALFORMED
 *  8. weft_pod_cidrs[saddr] != node (or no entry)          -> drop, WEFT_DROP_SPOOFED_SOURCE
 *  9. WEFT_CFG_ENFORCE_POLICY clear                        -> pass, WEFT_PASS_OVERLAY
 * 10. non-first fragment (no ports to look at)             -> pass, WEFT_PASS_OVERLAY
 *        (the receiver cannot reassemble it without the first fragment, judged here)
 * 11. policy: src/dst identity = weft_ipcache[saddr/daddr] (0 when absent);
 *     dport = TCP/UDP destination port, 0 for ICMP and other protocols; allowed if
 *     weft_policy has {src,dst,proto,dport}, {src,dst,proto,0} or {src,dst,0,0} = 1,
 *     for src the sender's identity or WEFT_IDENTITY_ANY
 *                                                          -> pass, WEFT_PASS_OVERLAY
 *     with WEFT_CFG_ALLOW_REPLIES: also a reply to an allowed flow, judged statelessly
 *     by the reversed tuple: TCP with ACK set and {dst,src,6,sport} allowed; UDP with
 *     {dst,src,17,sport} allowed; ICMP echo reply with {dst,src,1,0} allowed
 *                                                          -> pass, WEFT_PASS_OVERLAY
 *     otherwise (also an L4 header too short for its ports) -> drop, WEFT_DROP_POLICY /
 *                                                            WEFT_DROP_MALFORMED
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "weft_maps.h"

#define WEFT_IP_OFFSET 0x1fff /* fragment offset bits of iphdr.frag_off (host order) */
#define WEFT_ICMP_ECHOREPLY 0
#define WEFT_TCP_FLAG_ACK 0x10 /* in byte 13 of the TCP header */

static __always_inline int weft_verdict(struct __sk_buff *skb, __u32 reason)
{
	weft_count(skb, reason);
	return reason == WEFT_PASS_OVERLAY ? TC_ACT_OK : TC_ACT_SHOT;
}

static __always_inline __u32 weft_identity(__u32 addr_be)
{
	struct weft_lpm_v4 key = { .prefixlen = 32, .addr_be = addr_be };
	__u32 *id = bpf_map_lookup_elem(&weft_ipcache, &key);

	return id ? *id : 0;
}

static __always_inline int weft_policy_lookup(__u32 src, __u32 dst, __u8 proto, __u16 port_be)
{
	struct weft_policy_key key = {
		.src_identity = src, .dst_identity = dst, .proto = proto, .dport_be = port_be,
	};
	__u8 *allow = bpf_map_lookup_elem(&weft_policy, &key);

	return allow && *allow == 1;
}

/* exact, then any port of this protocol, then any traffic between the identities */
static __always_inline int weft_policy_allows_from(__u32 src, __u32 dst, __u8 proto, __u16 port_be)
{
	if (weft_policy_lookup(src, dst, proto, port_be))
		return 1;
	if (port_be && weft_policy_lookup(src, dst, proto, 0))
		return 1;
	return proto && weft_policy_lookup(src, dst, 0, 0);
}

/* the sender's own entries, then the same three from anyone: {ANY,dst,0,0} is the
 * planner's rule for a pod no policy selects, {ANY,dst,proto,port} a NetworkPolicy rule
 * without `from` that names ports */
static __always_inline int weft_policy_allows(__u32 src, __u32 dst, __u8 proto, __u16 port_be)
{
	return weft_policy_allows_from(src, dst, proto, port_be) ||
	       weft_policy_allows_from(WEFT_IDENTITY_ANY, dst, proto, port_be);
}

SEC("tc")
int weft_overlay_ingress(struct __sk_buff *skb)
{
	struct weft_config *cfg;
	struct weft_lpm_v4 cidr;
	struct weft_mac mac = {};
	struct ethhdr eth;
	struct iphdr ip;
	__u32 node, *owner, *by_mac, src_id, dst_id, l4, flags = 0;
	__u16 sport = 0, dport = 0;
	__u8 *quarantined, l4hdr[14]; /* enough for the TCP flags byte (13) */
	int reply = 0;

	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) < 0)
		return weft_verdict(skb, WEFT_DROP_MALFORMED);
	if (eth.h_proto == bpf_htons(ETH_P_ARP))
		return weft_verdict(skb, WEFT_PASS_OVERLAY);
	if (eth.h_proto != bpf_htons(ETH_P_IP) && eth.h_proto != bpf_htons(ETH_P_IPV6))
		return weft_verdict(skb, WEFT_DROP_MALFORMED);

	cfg = weft_get_config();
	if (cfg)
		flags = cfg->flags;

	/* which node sent it */
	if (cfg && cfg->mark_mask && (skb->mark & cfg->mark_mask) == cfg->mark_tag) {
		node = skb->mark & WEFT_MARK_NODE_MASK;
	} else {
		__builtin_memcpy(mac.addr, eth.h_source, ETH_ALEN);
		by_mac = bpf_map_lookup_elem(&weft_vtep_macs, &mac);
		if (!by_mac)
			return weft_verdict(skb, WEFT_DROP_UNKNOWN_SENDER);
		node = *by_mac;
	}
	quarantined = bpf_map_lookup_elem(&weft_quarantine, &node);
	if (quarantined && *quarantined)
		return weft_verdict(skb, WEFT_DROP_QUARANTINED);

	if (eth.h_proto == bpf_htons(ETH_P_IPV6))
		return weft_verdict(skb, WEFT_PASS_OVERLAY); /* not enforced yet */

	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0)
		return weft_verdict(skb, WEFT_DROP_MALFORMED);
	if (ip.version != 4 || ip.ihl < 5)
		return weft_verdict(skb, WEFT_DROP_MALFORMED);

	/* anti-spoofing: the inner source must lie in the sending node's pod CIDR */
	cidr.prefixlen = 32;
	cidr.addr_be = ip.saddr;
	owner = bpf_map_lookup_elem(&weft_pod_cidrs, &cidr);
	if (!owner || *owner != node)
		return weft_verdict(skb, WEFT_DROP_SPOOFED_SOURCE);

	if (!(flags & WEFT_CFG_ENFORCE_POLICY))
		return weft_verdict(skb, WEFT_PASS_OVERLAY);
	if (ip.frag_off & bpf_htons(WEFT_IP_OFFSET))
		return weft_verdict(skb, WEFT_PASS_OVERLAY); /* non-first fragment */

	l4 = ETH_HLEN + ip.ihl * 4; /* ihl covers IPv4 options */
	switch (ip.protocol) {
	case IPPROTO_TCP:
		if (bpf_skb_load_bytes(skb, l4, l4hdr, 14) < 0)
			return weft_verdict(skb, WEFT_DROP_MALFORMED);
		__builtin_memcpy(&sport, &l4hdr[0], 2);
		__builtin_memcpy(&dport, &l4hdr[2], 2);
		reply = !!(l4hdr[13] & WEFT_TCP_FLAG_ACK);
		break;
	case IPPROTO_UDP:
		if (bpf_skb_load_bytes(skb, l4, l4hdr, 4) < 0)
			return weft_verdict(skb, WEFT_DROP_MALFORMED);
		__builtin_memcpy(&sport, &l4hdr[0], 2);
		__builtin_memcpy(&dport, &l4hdr[2], 2);
		reply = 1;
		break;
	case IPPROTO_ICMP:
		if (bpf_skb_load_bytes(skb, l4, l4hdr, 1) < 0)
			return weft_verdict(skb, WEFT_DROP_MALFORMED);
		reply = l4hdr[0] == WEFT_ICMP_ECHOREPLY;
		break;
	default:
		break; /* dport 0: {proto, any port} or {any, any} */
	}

	src_id = weft_identity(ip.saddr);
	dst_id = weft_identity(ip.daddr);
	if (weft_policy_allows(src_id, dst_id, ip.protocol, dport))
		return weft_verdict(skb, WEFT_PASS_OVERLAY);
	if ((flags & WEFT_CFG_ALLOW_REPLIES) && reply &&
	    weft_policy_allows(dst_id, src_id, ip.protocol, sport))
		return weft_verdict(skb, WEFT_PASS_OVERLAY);
	return weft_verdict(skb, WEFT_DROP_POLICY);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
