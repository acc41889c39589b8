// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * weft_pod_in: tc (clsact) egress on the node end of a pod's veth, i.e. every frame about
 * to reach the pod, from pods on this node and, after weft0's filter, from other nodes
 * alike: the pod's ingress policy. Every frame is counted, in
 * weft_counters and in the pod's own weft_pod_counters entry.
 *
 *  1. Ethernet header unreadable                          -> drop, WEFT_DROP_MALFORMED
 *  2. not IPv4 (ARP, IPv6: not judged)                     -> pass, WEFT_PASS_POD_IN
 *  3. IPv4 header unreadable, version != 4 or ihl < 5      -> drop, WEFT_DROP_MALFORMED
 *  4. neither WEFT_CFG_ENFORCE_POLICY nor _EGRESS          -> pass, WEFT_PASS_POD_IN
 *  5. non-first fragment                                   -> pass, WEFT_PASS_POD_IN
 *     L4 header too short for its ports                    -> drop, WEFT_DROP_MALFORMED
 *  6. admitted: WEFT_CFG_ENFORCE_POLICY clear, or the source's identity (weft_ipcache) is
 *     WEFT_IDENTITY_HOST (the node itself: kubelet's probes), or weft_policy allows
 *     {src, dst, proto, dport} as on weft0 (weft_policy.h)  -> pass, WEFT_PASS_POD_IN
 *        (with WEFT_CFG_ENFORCE_EGRESS the flow is recorded in weft_conntrack first, so
 *        that the pod's answers pass its egress policy as replies)
 *  7. WEFT_CFG_ALLOW_REPLIES and a reply of (or ICMP error about) a live connection in
 *     weft_conntrack                                       -> pass, WEFT_PASS_REPLY
 *  8. otherwise                                            -> drop, WEFT_DROP_POLICY
 *
 * A pod whose identity is not in weft_ipcache yet has identity 0, which no rule names:
 * where policy is enforced it receives nothing but its node's and its own connections'
 * traffic until the controller's state arrives.
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

SEC("tc")
int weft_pod_in(struct __sk_buff *skb)
{
	struct weft_config *cfg = weft_get_config();
	struct weft_flow flow;
	struct ethhdr eth;
	struct iphdr ip;
	__u32 src_id, flags = cfg ? cfg->flags : 0;
	int admitted;

	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) < 0)
		return weft_pod_verdict(skb, WEFT_DROP_MALFORMED);
	if (eth.h_proto != bpf_htons(ETH_P_IP))
		return weft_pod_verdict(skb, WEFT_PASS_POD_IN);
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0 || ip.version != 4 || ip.ihl < 5)
		return weft_pod_verdict(skb, WEFT_DROP_MALFORMED);
	if (!(flags & (WEFT_CFG_ENFORCE_POLICY | WEFT_CFG_ENFORCE_EGRESS)))
		return weft_pod_verdict(skb, WEFT_PASS_POD_IN);
	switch (weft_flow_parse(skb, &ip, &flow)) {
	case WEFT_PARSE_FRAGMENT:
		return weft_pod_verdict(skb, WEFT_PASS_POD_IN);
	case WEFT_PARSE_MALFORMED:
		return weft_pod_verdict(skb, WEFT_DROP_MALFORMED);
	}

	if (!(flags & WEFT_CFG_ENFORCE_POLICY)) {
		admitted = 1;
	} else {
		src_id = weft_identity(ip.saddr);
		admitted = src_id == WEFT_IDENTITY_HOST ||
			   weft_policy_allows(ip.saddr, src_id, weft_identity(ip.daddr), ip.protocol, flow.policy_port_be);
	}
	if (admitted) {
		if ((flags & WEFT_CFG_ENFORCE_EGRESS) && flow.tracked)
			weft_ct_track(&flow);
		return weft_pod_verdict(skb, WEFT_PASS_POD_IN);
	}
	if ((flags & WEFT_CFG_ALLOW_REPLIES) && flow.tracked && weft_ct_is_reply(&flow))
		return weft_pod_verdict(skb, WEFT_PASS_REPLY);
	return weft_pod_verdict(skb, WEFT_DROP_POLICY);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
