/* SPDX-License-Identifier: (GPL-2.0-only OR MIT) */
/*
 * weft_policy.h: identities (weft_ipcache) and the policy lookups (weft_policy for what
 * may reach a pod, weft_egress for what a pod may send), shared by the overlay's ingress
 * filter and the pods' filters. BPF only: include after weft_maps.h.
 */
#ifndef WEFT_POLICY_H
#define WEFT_POLICY_H

static __always_inline __u32 weft_identity(__u32 addr_be)
{
	struct weft_lpm_v4 key = { .prefixlen = 32, .addr_be = addr_be };
	__u32 *id = bpf_map_lookup_elem(&weft_ipcache, &key);

	return id ? *id : 0;
}

static __always_inline int weft_rule(void *rules, __u32 src, __u32 dst, __u8 proto, __u16 port_be)
{
	struct weft_policy_key key = {
		.src_identity = src, .dst_identity = dst, .proto = proto, .dport_be = port_be,
	};
	__u8 *allow = bpf_map_lookup_elem(rules, &key);

	return allow && *allow == 1;
}

/* exact, then any port of this protocol, then any traffic between the identities */
static __always_inline int weft_rules_allow(void *rules, __u32 src, __u32 dst, __u8 proto, __u16 port_be)
{
	if (weft_rule(rules, src, dst, proto, port_be))
		return 1;
	if (port_be && weft_rule(rules, src, dst, proto, 0))
		return 1;
	return proto && weft_rule(rules, src, dst, 0, 0);
}

/* weft_policy (what may reach dst): the sender's own entries, then the same three from
 * anyone: {ANY,dst,0,0} is the planner's rule for a pod no policy selects,
 * {ANY,dst,proto,port} a NetworkPolicy rule without `from` that names ports */
static __always_inline int weft_policy_allows(__u32 src, __u32 dst, __u8 proto, __u16 port_be)
{
	return weft_rules_allow(&weft_policy, src, dst, proto, port_be) ||
	       weft_rules_allow(&weft_policy, WEFT_IDENTITY_ANY, dst, proto, port_be);
}

/* weft_egress (what local src may send): to dst's identity, then to anyone
 * ({src,ANY,0,0}: a pod no egress policy selects) */
static __always_inline int weft_egress_allows(__u32 src, __u32 dst, __u8 proto, __u16 port_be)
{
	return weft_rules_allow(&weft_egress, src, dst, proto, port_be) ||
	       weft_rules_allow(&weft_egress, src, WEFT_IDENTITY_ANY, proto, port_be);
}

#endif /* WEFT_POLICY_H */
