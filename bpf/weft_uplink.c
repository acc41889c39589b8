// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * weft_uplink_ingress: tc (clsact) ingress filter on the node's uplink, the Ethernet
 * device that carries the node IP. Direct action: returns TC_ACT_OK or TC_ACT_SHOT.
 *
 * tc ingress runs before the IP stack, so before XFRM: ESP is still ESP here, and a
 * UDP datagram to the VXLAN port seen here travelled in plaintext (transport-mode ESP is
 * decrypted later, in the IPv4 input path, and does not come back through tc ingress).
 * The one exception is ESP GRO (the esp4_offload module loaded and GRO on the uplink):
 * then the stack decrypts inside GRO, before tc, and the decrypted datagram reaches this
 * program carrying a security path; bpf_skb_get_xfrm_state() sees it and such a datagram
 * is not plaintext.
 *
 *   IPv4 UDP to the VXLAN port (weft_config.vxlan_port_be, 4789 when 0):
 *     source not in weft_peers                       -> drop, WEFT_DROP_UNKNOWN_SOURCE
 *     peer quarantined (peer flag or weft_quarantine) -> drop, WEFT_DROP_QUARANTINED
 *     peer must encrypt, no XFRM state from that peer -> drop, WEFT_DROP_PLAINTEXT
 *     otherwise                                       -> pass, WEFT_PASS_UPLINK
 *     first fragment too short to hold the ports      -> drop, WEFT_DROP_MALFORMED
 *   IPv4 ESP (protocol 50):
 *     from a quarantined peer                         -> drop, WEFT_DROP_QUARANTINED
 *     from another peer                               -> pass, WEFT_PASS_UPLINK
 *     from a non-peer                                 -> pass, not counted (not Weft's SA;
 *                                                        XFRM drops it without a state)
 *   everything else (ARP, IPv6, other IPv4, non-first fragments) -> pass, not counted
 *
 * Non-first IPv4 fragments carry no UDP header and pass; the datagram can only be
 * reassembled (in ip_local_deliver, after tc) together with its first fragment, which
 * carries the ports and is judged here. Linux drops reassembly queues with overlapping
 * fragments, so a later fragment cannot rewrite the ports.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "weft_maps.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#define WEFT_IP_OFFSET 0x1fff /* fragment offset bits of iphdr.frag_off (host order) */

static __always_inline int weft_peer_quarantined(const struct weft_peer *peer)
{
	__u32 node = peer->node_index;
	__u8 *q;

	if (peer->flags & WEFT_PEER_QUARANTINED)
		return 1;
	q = bpf_map_lookup_elem(&weft_quarantine, &node);
	return q && *q;
}

static __always_inline int weft_drop(struct __sk_buff *skb, __u32 reason)
{
	weft_count(skb, reason);
	return TC_ACT_SHOT;
}

static __always_inline int weft_pass(struct __sk_buff *skb)
{
	weft_count(skb, WEFT_PASS_UPLINK);
	return TC_ACT_OK;
}

/* UDP/VXLAN port: was this datagram decrypted (ESP GRO) from an SA whose peer is saddr? */
static __always_inline int weft_arrived_in_esp(struct __sk_buff *skb, __u32 saddr)
{
	struct bpf_xfrm_state x = {};

	if (bpf_skb_get_xfrm_state(skb, 0, &x, sizeof(x), 0) < 0)
		return 0; /* no security path: plaintext */
	return x.family == AF_INET && x.remote_ipv4 == saddr;
}

SEC("tc")
int weft_uplink_ingress(struct __sk_buff *skb)
{
	struct weft_config *cfg;
	struct weft_peer *peer;
	struct iphdr ip;
	__be16 ports[2]; /* source, destination */
	__u16 vxlan_port;
	__u32 saddr;

	/* skb->protocol is the ethertype after any offloaded VLAN tag; attach to the device
	 * that owns the node IP (the VLAN device, if any) */
	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0)
		return TC_ACT_OK; /* shorter than an IPv4 header: ip_rcv drops it */
	if (ip.version != 4 || ip.ihl < 5)
		return TC_ACT_OK; /* ip_rcv drops it */
	saddr = ip.saddr;

	if (ip.protocol == IPPROTO_ESP) {
		peer = bpf_map_lookup_elem(&weft_peers, &saddr);
		if (!peer)
			return TC_ACT_OK;
		if (weft_peer_quarantined(peer))
			return weft_drop(skb, WEFT_DROP_QUARANTINED);
		return weft_pass(skb);
	}

	if (ip.protocol != IPPROTO_UDP)
		return TC_ACT_OK;
	if (ip.frag_off & bpf_htons(WEFT_IP_OFFSET))
		return TC_ACT_OK; /* non-first fragment, see above */

	cfg = weft_get_config();
	vxlan_port = cfg && cfg->vxlan_port_be ? cfg->vxlan_port_be
					       : bpf_htons(WEFT_VXLAN_PORT_DEFAULT);

	/* ihl counts 32-bit words and covers IPv4 options */
	if (bpf_skb_load_bytes(skb, ETH_HLEN + ip.ihl * 4, ports, sizeof(ports)) < 0)
		return weft_drop(skb, WEFT_DROP_MALFORMED); /* UDP without room for ports */
	if (ports[1] != vxlan_port)
		return TC_ACT_OK;

	peer = bpf_map_lookup_elem(&weft_peers, &saddr);
	if (!peer)
		return weft_drop(skb, WEFT_DROP_UNKNOWN_SOURCE);
	if (weft_peer_quarantined(peer))
		return weft_drop(skb, WEFT_DROP_QUARANTINED);
	if ((peer->flags & WEFT_PEER_MUST_ENCRYPT) && !weft_arrived_in_esp(skb, saddr))
		return weft_drop(skb, WEFT_DROP_PLAINTEXT);
	return weft_pass(skb);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
