"""The rules' NB lookups of a what-if's state after, derived from the state before's
(`NbIndex(nb, since=...)`: only the switch and switch port rows a change touched are looked
at again), equal the lookups built from every row -- on changes the real ovn-nbctl makes,
including the ones the derivation must decline (a port two switches hold)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.sim_snapshots import three_chassis
from ovnguard.change.executor import default_executor
from ovnguard.change.parse import parse_change
from ovnguard.findings.context import NbIndex
from ovnguard.report.assemble import _localnets

pytestmark = pytest.mark.realdb

# (change, whether the derivation may answer it)
CHANGES = [
    ("ovn-nbctl lsp-set-options provnet-1 network_name=physnet2", True),
    ("ovn-nbctl lsp-add pub ln2 -- lsp-set-type ln2 localnet -- "
     "lsp-set-options ln2 network_name=physnet2", True),
    ("ovn-nbctl lsp-del provnet-1", True),
    ("ovn-nbctl lsp-set-type vm1 localnet", True),
    ("ovn-nbctl set Logical_Switch_Port provnet-1 name=provnet-9", True),
    ("ovn-nbctl set Logical_Switch_Port vm1 name=vm9 -- lsp-add priv1 vm1", True),
    ("ovn-nbctl ls-del pub", True),
    ("ovn-nbctl ls-add pub2 -- lsp-add pub2 ln3 -- lsp-set-type ln3 l2gateway", True),
    ("ovn-nbctl lsp-del vm1 -- lsp-del vm2 -- lsp-add priv2 vm1", True),
    ("ovn-nbctl lr-add r9", True),
    # what neutron-out-of-band reads: Neutron's switches and the ports it did not make
    ("ovn-nbctl set Logical_Switch_Port vm1 'external_ids:\"neutron:port_name\"=vm1'", True),
    ("ovn-nbctl remove Logical_Switch priv1 external_ids '\"neutron:network_name\"'", True),
    ("ovn-nbctl set Logical_Switch priv2 'external_ids:\"neutron:network_name\"=p2'", True),
    ("ovn-nbctl lsp-add pub ln5 -- lsp-set-type ln5 localnet", True),
    ("ovn-nbctl lsp-del vm3 -- lsp-add priv1 vm3", True),
    # vm1 held by two switches: which one a name lookup gives is the table's order
    ("ovn-nbctl add Logical_Switch priv2 ports {vm1}", False),
]


def lookups(ix: NbIndex) -> tuple[object, ...]:
    return (ix.lsps, ix.lsp_switch, ix.bridged_ports(), ix.out_of_band)


def test_derived_lookups_equal_from_scratch(tmp_path: Path) -> None:
    with three_chassis(tmp_path) as c:
        c.nbctl("ls-add pub", "ls-add priv1", "ls-add priv2",
                "lsp-add pub provnet-1 -- lsp-set-type provnet-1 localnet -- "
                "lsp-set-options provnet-1 network_name=physnet1",
                "lsp-add priv1 vm1", "lsp-add priv1 vm2", "lsp-add priv2 vm3",
                # Neutron's switches; of their ports, Neutron did not make vm1
                "set Logical_Switch pub 'external_ids:\"neutron:network_name\"=public'",
                "set Logical_Switch priv1 'external_ids:\"neutron:network_name\"=p1'",
                "set Logical_Switch_Port vm2 'external_ids:\"neutron:port_name\"=vm2'",
                "set Logical_Switch_Port vm3 'external_ids:\"neutron:port_name\"=vm3'")
        s0 = c.snapshot("s0")
    vm1 = s0.nb.find_one("Logical_Switch_Port", "vm1")
    assert vm1 is not None
    before = NbIndex(s0.nb)
    lookups(before)
    assert [ls.name for ls, _ in before.out_of_band.values()] == ["priv1"]
    derived = 0
    with default_executor() as ex:
        for text, may in CHANGES:
            text = text.replace("{vm1}", str(vm1.uuid))
            result = ex.apply(s0, parse_change(text + "\n", "c.sh"))
            assert result.snapshot.nb is not s0.nb, text
            after = NbIndex(result.snapshot.nb, since=before)
            assert lookups(after) == lookups(NbIndex(result.snapshot.nb)), text
            # the report's localnet table, read off the index, is the one every port gives
            assert _localnets(result.snapshot, after) == _localnets(result.snapshot), text
            got = after._derived is not None
            assert got or not may, f"not derived: {text}"
            if not may:
                assert not got, f"derived where two switches hold a port: {text}"
            derived += got
    assert derived == sum(may for _, may in CHANGES)
