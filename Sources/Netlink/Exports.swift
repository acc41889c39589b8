// The address value types live in their own bottom target (Addresses) so that code which
// only needs them, weft-cni above all, links without libmnl; everything that imports
// Netlink sees them as before.
@_exported import Addresses
