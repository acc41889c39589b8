// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * weft_pod_out: tc (clsact) ingress on the node end of a pod's veth, i.e. every frame the
 * pod sends. The pod may send only as itself; what it starts is tracked so that its
 * replies come back in (weft_pod_in.c, weft_overlay.c). Every frame is counted, in
 * weft_counters and in the pod's own weft_pod_counters entry.
 *
 *  1. Ethernet header unreadable                            -> drop, WEFT_DROP_MALFORMED
 *  2. no weft_endpoints[ifindex] (not a pod Weft attached)  -> drop, WEFT_DROP_SPOOFED_SOURCE
 *  3. WEFT_ENDPOINT_CHECK_MAC and source MAC != the pod's   -> drop, WEFT_DROP_SPOOFED_SOURCE
 *  4. ARP whose sender address is the pod's                 -> pass, WEFT_PASS_POD_OUT
 *  5. IPv4 with the pod's address as source, and WEFT_CFG_ENFORCE_EGRESS clear
 *        (TCP, UDP and ICMP echo recorded in weft_conntrack)  -> pass, WEFT_PASS_POD_OUT
 *     with WEFT_CFG_ENFORCE_EGRESS (the pod's egress policy):
 *       non-first fragment                                  -> pass, WEFT_PASS_POD_OUT
 *       L4 header too short                                 -> drop, WEFT_DROP_MALFORMED
 *       a reply of (or ICMP error about) a live connection in weft_conntrack, e.g. one
 *       the pod accepted                                    -> pass, WEFT_PASS_REPLY
 *       weft_egress allows {pod's identity, dst identity, ANY or dst's CIDR identity,
 *       proto, dport}
 *         (recorded in weft_conntrack)                      -> pass, WEFT_PASS_POD_OUT
 *       otherwise                                           -> drop, WEFT_DROP_POLICY_EGRESS
 *  6. IPv6 (Weft gives pods no IPv6 address; their link-local
 *     chatter would reach the node), other ethertypes      -> drop, WEFT_DROP_UNSUPPORTED
 *  7. anything else: another source, other ARP             -> drop, WEFT_DROP_SPOOFED_SOURCE
 *     an IPv4 or ARP header too short                       -> drop, WEFT_DROP_MALFORMED
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "weft_maps.h"
#include "weft_conntrack.h"
#include "weft_policy.h"

#define WEFT_ARP_SENDER_IP 14 /* offset in an Ethernet/IPv4 ARP packet (after the header) */

SEC("tc")
int weft_pod_out(struct __sk_buff *skb)
{
	struct weft_config *cfg = weft_get_config();
	struct weft_endpoint *ep;
	struct weft_flow flow;
	struct ethhdr eth;
	struct iphdr ip;
	__u32 ifindex = skb->ifindex, sender, flags = cfg ? cfg->flags : 0;
	int parsed;

	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) < 0)
		return weft_pod_verdict(skb, WEFT_DROP_MALFORMED);
	ep = bpf_map_lookup_elem(&weft_endpoints, &ifindex);
	if (!ep)
		return weft_pod_verdict(skb, WEFT_DROP_SPOOFED_SOURCE);
	if ((ep->flags & WEFT_ENDPOINT_CHECK_MAC) && __builtin_memcmp(eth.h_source, ep->mac, ETH_ALEN) != 0)
		return weft_pod_verdict(skb, WEFT_DROP_SPOOFED_SOURCE);

	if (eth.h_proto == bpf_htons(ETH_P_ARP)) {
		if (bpf_skb_load_bytes(skb, ETH_HLEN + WEFT_ARP_SENDER_IP, &sender, 4) < 0)
			return weft_pod_verdict(skb, WEFT_DROP_MALFORMED);
		return weft_pod_verdict(skb, sender == ep->addr_be ? WEFT_PASS_POD_OUT : WEFT_DROP_SPOOFED_SOURCE);
	}
	if (eth.h_proto != bpf_htons(ETH_P_IP))
		return weft_pod_verdict(skb, WEFT_DROP_UNSUPPORTED);
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0 || ip.version != 4 || ip.ihl < 5)
		return weft_pod_verdict(skb, WEFT_DROP_MALFORMED);
	if (ip.saddr != ep->addr_be)
		return weft_pod_verdict(skb, WEFT_DROP_SPOOFED_SOURCE);

	parsed = weft_flow_parse(skb, &ip, &flow);
	if (flags & WEFT_CFG_ENFORCE_EGRESS) {
		if (parsed == WEFT_PARSE_FRAGMENT)
			return weft_pod_verdict(skb, WEFT_PASS_POD_OUT);
		if (parsed == WEFT_PARSE_MALFORMED)
			return weft_pod_verdict(skb, WEFT_DROP_MALFORMED);
		if (flow.tracked && weft_ct_is_reply(&flow))
			return weft_pod_verdict(skb, WEFT_PASS_REPLY);
		if (!weft_egress_allows(weft_identity(ip.saddr), ip.daddr, weft_identity(ip.daddr), ip.protocol, flow.policy_port_be))
			return weft_pod_verdict(skb, WEFT_DROP_POLICY_EGRESS);
	}
	if (parsed == WEFT_PARSE_OK && flow.tracked)
		weft_ct_track(&flow);
	return weft_pod_verdict(skb, WEFT_PASS_POD_OUT);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
