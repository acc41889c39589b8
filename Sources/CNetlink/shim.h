// C surface for the Netlink target: libmnl for the socket, kernel UAPI headers for the
// struct layouts the tests compare the Swift codec against, and shims for what Swift
// cannot import (macros with arguments, GNU-only declarations).
#ifndef WEFT_CNETLINK_SHIM_H
#define WEFT_CNETLINK_SHIM_H

// No _GNU_SOURCE here: it changes glibc's own struct definitions (fd_set's members), and
// Clang then refuses to merge this module with Swift's Glibc module.
#include <errno.h>
// glibc's netinet/in.h must come before the kernel UAPI headers: linux/libc-compat.h then
// leaves struct in6_addr to glibc instead of defining a second, conflicting one.
#include <netinet/in.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#include <linux/xfrm.h>

// setns(2) and CLONE_NEWNET are declared only under _GNU_SOURCE (see above), so declare
// them here; the prototype is glibc's.
extern int setns(int fd, int nstype);
#define WEFT_CLONE_NEWNET 0x40000000
static inline int weft_setns(int fd, int nstype) { return setns(fd, nstype); }

static inline int weft_errno(void) { return errno; }

#endif
