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
 *     dport = TCP/UDP/SCTP destination port, 0 for ICMP and other protocols; allowed if
 *     weft_policy has an entry covering {src,dst,proto,dport} (that port, a block of
 *     ports holding it, any port of proto, or anything), for src the sender's identity,
 *     WEFT_IDENTITY_ANY or the sender's CIDR identity (weft_cidrs; weft_policy.h)
 *                                                          -> pass, WEFT_PASS_OVERLAY
 * 12. with WEFT_CFG_ALLOW_REPLIES: a reply of a live connection this node started
 *     (weft_conntrack, written by weft_track.c on weft0 egress; TCP, UDP, ICMP echo)
 *                                                          -> pass, WEFT_PASS_REPLY
 *     otherwise (also an L4 header too short for its ports) -> drop, WEFT_DROP_POLICY /
 *                                                            WEFT_DROP_MALFORMED
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "weft_maps.h"
#include "weft_conntrack.h"
#include "weft_policy.h"

SEC("tc")
int weft_overlay_ingress(struct __sk_buff *skb)
{
	struct weft_config *cfg;
	struct weft_lpm_v4 cidr;
	struct weft_mac mac = {};
	struct weft_flow flow;
	struct ethhdr eth;
	struct iphdr ip;
	__u32 node, *owner, *by_mac, src_id, dst_id, flags = 0;
	__u8 *quarantined;

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
	switch (weft_flow_parse(skb, &ip, &flow)) {
	case WEFT_PARSE_FRAGMENT:
		return weft_verdict(skb, WEFT_PASS_OVERLAY);
	case WEFT_PARSE_MALFORMED:
		return weft_verdict(skb, WEFT_DROP_MALFORMED);
	}

	src_id = weft_identity(ip.saddr);
	dst_id = weft_identity(ip.daddr);
	if (weft_policy_allows(ip.saddr, src_id, dst_id, ip.protocol, flow.policy_port_be))
		return weft_verdict(skb, WEFT_PASS_OVERLAY);
	if ((flags & WEFT_CFG_ALLOW_REPLIES) && flow.tracked && weft_ct_is_reply(&flow))
		return weft_verdict(skb, WEFT_PASS_REPLY);
	return weft_verdict(skb, WEFT_DROP_POLICY);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
