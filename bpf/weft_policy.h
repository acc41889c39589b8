/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * weft_policy.h: identities (weft_ipcache, weft_cidrs) and the policy lookups (weft_policy
 * for what may reach a pod, weft_egress for what a pod may send), shared by the overlay's
 * ingress filter and the pods' filters. BPF only: include after weft_maps.h.
 *
 * An address has up to two identities: its pod's (weft_ipcache: namespace and labels) and
 * its CIDR identity (weft_cidrs: the longest ipBlock prefix of any policy holding it, pod
 * addresses included, as NetworkPolicy's ipBlock means). A rule names one or the other;
 * because the agent's rules for an ipBlock name every prefix inside it but none inside its
 * `except`, the longest prefix decides `except` exactly.
 */
#ifndef WEFT_POLICY_H
#define WEFT_POLICY_H

static __always_inline __u32 weft_lpm_value(void *map, __u32 addr_be)
{
	struct weft_lpm_v4 key = { .prefixlen = 32, .addr_be = addr_be };
	__u32 *value = bpf_map_lookup_elem(map, &key);

	return value ? *value : 0;
}

static __always_inline __u32 weft_identity(__u32 addr_be)
{
	return weft_lpm_value(&weft_ipcache, addr_be);
}

/* 0: no policy's ipBlock holds the address */
static __always_inline __u32 weft_cidr_identity(__u32 addr_be)
{
	return weft_lpm_value(&weft_cidrs, addr_be);
}

/* One longest-prefix lookup: an entry for the exact port, for a block of ports holding it,
 * for any port of the protocol or for any traffic between the two identities. */
static __always_inline int weft_rules_allow(void *rules, __u32 src, __u32 dst, __u8 proto, __u16 port_be)
{
	struct weft_policy_key key = {
		.prefixlen = WEFT_POLICY_PREFIX_FULL,
		.src_identity = src, .dst_identity = dst, .proto = proto, .dport_be = port_be,
	};
	__u8 *allow = bpf_map_lookup_elem(rules, &key);

	return allow && *allow == 1;
}

/* weft_policy (what may reach dst, from saddr of identity src): the sender's identity, then
 * anyone ({ANY,dst,...}: the planner's rule for a pod no policy selects, or a rule without
 * `from`), then the sender's CIDR identity (an ipBlock) */
static __always_inline int weft_policy_allows(__u32 saddr_be, __u32 src, __u32 dst, __u8 proto, __u16 port_be)
{
	__u32 cidr;

	if (weft_rules_allow(&weft_policy, src, dst, proto, port_be) ||
	    weft_rules_allow(&weft_policy, WEFT_IDENTITY_ANY, dst, proto, port_be))
		return 1;
	cidr = weft_cidr_identity(saddr_be);
	return cidr && weft_rules_allow(&weft_policy, cidr, dst, proto, port_be);
}

/* weft_egress (what local src may send to daddr of identity dst): to dst's identity, then
 * to anyone ({src,ANY,...}: a pod no egress policy selects), then to daddr's CIDR identity */
static __always_inline int weft_egress_allows(__u32 src, __u32 daddr_be, __u32 dst, __u8 proto, __u16 port_be)
{
	__u32 cidr;

	if (weft_rules_allow(&weft_egress, src, dst, proto, port_be) ||
	    weft_rules_allow(&weft_egress, src, WEFT_IDENTITY_ANY, proto, port_be))
		return 1;
	cidr = weft_cidr_identity(daddr_be);
	return cidr && weft_rules_allow(&weft_egress, src, cidr, proto, port_be);
}

#endif /* WEFT_POLICY_H */
