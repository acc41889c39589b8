// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * weft_overlay_egress: tc (clsact) egress filter on weft0, the VXLAN device. It sees the
 * inner Ethernet frame before encapsulation and never drops: it records each TCP, UDP and
 * ICMP echo flow leaving through the overlay in weft_conntrack (weft_conntrack.h), so that
 * weft_overlay_ingress lets that flow's replies back in (WEFT_PASS_REPLY) while a packet
 * shaped like a reply of a connection this node never started is judged by policy alone.
 * Not counted: weft_counters holds verdicts of the ingress filters.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "weft_maps.h"
#include "weft_conntrack.h"

SEC("tc")
int weft_overlay_egress(struct __sk_buff *skb)
{
	struct weft_flow flow;
	struct ethhdr eth;
	struct iphdr ip;

	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) < 0 || eth.h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0 || ip.version != 4 || ip.ihl < 5)
		return TC_ACT_OK;
	if (weft_flow_parse(skb, &ip, &flow) == WEFT_PARSE_OK && flow.tracked)
		weft_ct_track(&flow);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
