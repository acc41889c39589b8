// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
/*
 * Test helper for scripts/test-bpf.sh, not part of Weft's datapath: stands in for the
 * output-mark of an XFRM inbound SA on a kernel without ESP (and without act_skbedit).
 * Attached on the uplink's tc ingress *before* weft_uplink_ingress (lower pref); sets
 * skb->mark = weft_test_mark[0] when that is non-zero, then returns TC_ACT_UNSPEC so tc
 * goes on to the next filter. The mark survives the VXLAN decap (same namespace) and
 * reaches weft_overlay_ingress on weft0, like a real SA's output-mark.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} weft_test_mark SEC(".maps");

SEC("tc")
int weft_test_set_mark(struct __sk_buff *skb)
{
	__u32 zero = 0, *mark = bpf_map_lookup_elem(&weft_test_mark, &zero);

	if (mark && *mark)
		skb->mark = *mark;
	return TC_ACT_UNSPEC; /* continue with the next filter */
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
