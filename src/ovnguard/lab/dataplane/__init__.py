"""The lab's data-plane mode: every host a network namespace on a shared "LAN", OVS on the
userspace datapath, real packets, real management reachability. See docs/dataplane.md.

Layout (seed): a LAN namespace holds one Linux bridge per segment (`lan0` = management,
with the "router" address); a `central` namespace holds NB/SB ovsdb-server and ovn-northd
on the management network; each host namespace holds ovsdb-server, ovs-vswitchd
(`datapath_type=netdev`, no dummy datapath) and ovn-controller, whose NIC `enp6s18` is one
end of a veth whose other end is a port of `lan0`. The management address sits on the
`br-ex` tap, so a loop through br-ex really cuts a host off.

The control plane of the lab (our ctl commands) uses unix sockets, i.e. it is the
"console": it keeps working when the management network does not.
"""

from ovnguard.lab.console import CTL_TIMEOUT
from ovnguard.lab.dataplane.cgroup import cgroup_stat
from ovnguard.lab.dataplane.lab import DataplaneLab
from ovnguard.lab.dataplane.plan import (
    CENTRAL,
    MANAGEMENT_SEGMENT,
    NB_PORT,
    PROBE_PORT,
    ROUTER,
    SB_PORT,
    Control,
    DataplanePlan,
    Kind,
    LanLink,
    Matrix,
    Node,
    Segment,
    StormLimits,
    format_matrix,
    lab_id_for,
    plan_dataplane,
)
from ovnguard.lab.dataplane.registry import (
    REGISTRY_DIR,
    STATE_FILE,
    DataplaneState,
    cleanup_stale,
)

__all__ = [
    "CENTRAL",
    "CTL_TIMEOUT",
    "MANAGEMENT_SEGMENT",
    "NB_PORT",
    "PROBE_PORT",
    "REGISTRY_DIR",
    "ROUTER",
    "SB_PORT",
    "STATE_FILE",
    "Control",
    "DataplaneLab",
    "DataplanePlan",
    "DataplaneState",
    "Kind",
    "LanLink",
    "Matrix",
    "Node",
    "Segment",
    "StormLimits",
    "cgroup_stat",
    "cleanup_stale",
    "format_matrix",
    "lab_id_for",
    "plan_dataplane",
]
