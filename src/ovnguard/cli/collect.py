"""`ovnguard collect`: write a bundle from live state - this host, or many hosts over SSH."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from ovnguard.cli import options
from ovnguard.cli.out import echo
from ovnguard.errors import InputError
from ovnguard.i18n import _
from ovnguard.report.labels import pad

if TYPE_CHECKING:  # the collector (bundle reader, YAML, the model) loads when it runs
    from ovnguard.sources.collected import Collection, HostCollection


@contextmanager
def _progress(total: int) -> Iterator[Callable[[object], None] | None]:
    """A progress bar on a terminal (stderr); nothing when stderr is a file or a pipe."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(TextColumn("collecting"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("hosts", total=total, failed=0)
        failed = 0

        def advance(result: object) -> None:
            nonlocal failed
            host = getattr(result, "host", None)
            if host is not None and not host.ok:
                failed += 1
            bar.update(task, advance=1, failed=failed)

        yield advance


def incomplete(h: HostCollection) -> list[str]:
    """Why a host's part of the bundle is not whole (empty: it is)."""
    from ovnguard.sources.collected import HOST_FILES

    if h.failed:
        return [h.failed]
    return [p for p in h.problems if p.split(" ", 1)[0] in HOST_FILES]


def summary_lines(c: Collection, seconds: float) -> tuple[list[str], bool]:
    """What to tell the operator, and whether everything asked for was collected."""
    lines: list[str] = []
    whole = True
    ok = [h for h in c.hosts if h.ok]
    if c.hosts:
        lines.append(_("collected {ok}/{total} host(s) in {seconds:.1f}s").format(
            ok=len(ok), total=len(c.hosts), seconds=seconds))
    for name in ("nb.db", "sb.db"):
        if name in c.sources:
            lines.append(f"  {name:<8} " + _("from {source}").format(source=c.sources[name]))
    # labels padded by display width (Korean letters take two columns)
    note, failed, partial = pad(_("note"), 8), pad(_("FAILED"), 8), pad(_("partial"), 8)
    for p in c.problems:
        lines.append(f"  {note} {p}")
    for h in sorted(c.hosts, key=lambda h: h.name):
        why = incomplete(h)
        if h.failed:
            whole = False
            lines.append(f"  {failed} {h.name}: {h.failed}")
        elif why:
            whole = False
            lines.append(f"  {partial} {h.name}: {'; '.join(why)}")
        others = [p for p in h.problems if p not in why]
        for p in others:
            lines.append(f"  {note} {h.name}: {p}")
    return lines, whole


COLLECT_HELP = _("""Collect live state into a bundle (docs/bundle.md, docs/collect.md).

On one host: its Open_vSwitch DB (`ovsdb-client backup` of the local socket), addresses,
routes and links (netlink, written as `ip -j`), Neutron's .ini files; with --nb/--sb the
OVN databases. With --inventory: every listed host over SSH, in parallel, running only
stock commands there. Read-only: nothing is ever written to a database or a host.
Exit codes: 0 all collected, 1 some host failed or is incomplete (the rest is written),
2 bad input.

Examples:

  ovnguard collect --out bundle --nb tcp:10.10.0.11:6641 --sb tcp:10.10.0.11:6642

  ovnguard collect --out bundle --nb ssl:10.10.0.11:6641 -p key.pem -c cert.pem -C ca.pem

  ovnguard collect --inventory hosts.yaml --out bundle -j 100 --timeout 20

  ovnguard collect --inventory /etc/kolla/multinode --limit baremetal,!storage -o bundle""")


def collect(
    out: Path = typer.Option(..., "--out", "-o", help=_("Bundle directory to write (created, or "
                             "merged into: NB/SB and each collected host's directory are "
                             "replaced, other hosts are kept)."), file_okay=False),
    inventory: Path | None = typer.Option(
        None, "--inventory", help=_("Collect every host of this inventory over SSH instead of "
        "this one: a `host: address` map, ovnguard's hosts.yaml, an Ansible inventory (INI, "
        "YAML, host_vars/group_vars; dynamic ones through ansible-inventory) or "
        "openstack_user_config.yml (docs/collect.md).")),
    limit: str | None = typer.Option(
        None, "--limit", help=_("With --inventory: only these hosts or groups, as Ansible's "
        "--limit (`compute,network`, globs, `!storage`, `&ovn-controller`).")),
    nb: str | None = options.nb_option(
        _("OVN_Northbound remote: unix:PATH, tcp:IP:PORT or ssl:IP:PORT, as ovn-nbctl --db. "
        "Default: the local NB socket if this is a central node.")),
    sb: str | None = options.sb_option(_("OVN_Southbound remote, as --nb.")),
    private_key: Path | None = options.private_key_option(),
    certificate: Path | None = options.certificate_option(),
    ca_cert: Path | None = options.ca_cert_option(),
    ovs: str | None = typer.Option(
        None, "--ovs", help=_("This host's Open_vSwitch remote. Default: the first socket found "
        "of /var/run/openvswitch/db.sock, /run/openvswitch/db.sock (kolla), ...")),
    host: str | None = typer.Option(
        None, "--host", help=_("Directory name for this host (default: OVS "
        "external_ids:hostname, as ovn-controller registers it, else the hostname).")),
    no_host: bool = typer.Option(
        False, "--no-host", help=_("Only NB/SB: do not collect this host.")),
    neutron_dir: list[Path] = typer.Option(
        [], "--neutron-dir", help=_("Neutron config directory standing for /etc/neutron "
        "(default: /etc/neutron, TripleO's puppet-generated copy, kolla's /etc/kolla/neutron-*)"),
        file_okay=False),
    netns: str | None = typer.Option(
        None, "--netns", help=_("Read addresses, routes and links in this network namespace.")),
    root: Path = typer.Option(
        Path("/"), "--root", help=_("Look for the default sockets, /etc/kolla, /etc/neutron and "
        "the deployment tool's paths under this directory (a mounted host image, a chroot)."),
        file_okay=False),
    flavor: str | None = typer.Option(
        None, "--flavor", help=_("Deployment flavor of this host, instead of detecting it: "
        "kolla-ansible, tripleo-edpm, openstack-ansible, microovn, charmed-openstack, "
        "ovn-kubernetes, packages (docs/deployments.md).")),
    concurrency: int = typer.Option(
        64, "--concurrency", "-j", help=_("SSH: hosts collected at the same time.")),
    timeout: float = typer.Option(
        30.0, "--timeout", help=_("Seconds per host (SSH), or per database backup.")),
    identity: list[Path] = typer.Option(
        [], "--identity", "-i", help=_("SSH private key (repeatable). Default: ~/.ssh/id_* and "
        "the agent, as ssh does."), dir_okay=False),
    known_hosts: Path | None = typer.Option(
        None, "--known-hosts", help=_("known_hosts file (default: ~/.ssh/known_hosts). Unknown "
        "host keys are refused."), dir_okay=False),
    ssh_config: Path | None = typer.Option(
        None, "--ssh-config", help=_("ssh_config file (default: ~/.ssh/config)."), dir_okay=False),
    insecure_host_keys: bool = typer.Option(
        False, "--insecure-host-keys", help=_("SSH: connect even when a host's key cannot be "
        "verified (unknown, changed, or checking turned off by `UserKnownHostsFile none` in "
        "the ssh config, which is otherwise refused). Anyone on the path can then pose as "
        "the host.")),
    user: str | None = typer.Option(
        None, "--user", "-l", help=_("SSH user where the inventory names none.")),
    keep_secrets: bool = typer.Option(
        False, "--keep-secrets", help=_("Keep passwords, transport_url/connection credentials, "
        "secrets and private keys in the Neutron files written to the bundle. By default "
        "they are replaced by <redacted> (docs/security.md): ovnguard never needs them.")),
) -> None:
    from ovnguard.sources.collected import write_bundle
    from ovnguard.sources.live import LocalOptions, collect_local, ovsdb_backup

    for d in [*neutron_dir, root]:
        if not d.is_dir():
            raise InputError(_("no such directory"), str(d))
    ssl = options.ssl_files(private_key, certificate, ca_cert)
    t0 = time.monotonic()
    if limit is not None and inventory is None:
        raise InputError(_("--limit needs --inventory"), "--limit")
    if inventory is not None:
        from ovnguard.sources.inventory import limit_hosts, load_inventory
        from ovnguard.sources.remote import SshOptions, collect_targets, targets_of, with_user

        inv = load_inventory(inventory)
        if limit is not None:
            inv = limit_hosts(inv, limit)
        targets = with_user(targets_of(inv), user)
        ssh = SshOptions(identities=tuple(identity), known_hosts=known_hosts,
                         config=ssh_config, user=user, insecure_host_keys=insecure_host_keys)
        with _progress(len(targets)) as progress:
            collection = collect_targets(targets, ssh, concurrency=concurrency,
                                         timeout=timeout, progress=progress)
        collection.problems[:0] = inv.notes
        for which, remote, db in (("nb.db", nb, "OVN_Northbound"),
                                  ("sb.db", sb, "OVN_Southbound")):
            if remote is not None:
                data = ovsdb_backup(remote, db, ssl, timeout)
                if which == "nb.db":
                    collection.nb = data
                else:
                    collection.sb = data
                collection.sources[which] = remote
    else:
        opts = LocalOptions(
            nb=nb, sb=sb, ovs=ovs, ssl=ssl, host_name=host, collect_host=not no_host,
            neutron_dirs=tuple(neutron_dir) or None, netns=netns, timeout=timeout,
            root=root, flavor=flavor)
        collection = collect_local(opts)
    if not keep_secrets:
        from ovnguard.sources.redact import redact_files

        for h in collection.hosts:
            h.problems.extend(redact_files(h.neutron))
    written = write_bundle(collection, out)
    lines, whole = summary_lines(collection, time.monotonic() - t0)
    for line in lines:
        echo(line, err=True)
    if not written:
        raise InputError(_("nothing was collected (see above)"), str(out))
    echo(_(
            "bundle {out}: {written}{value}").format(
            out=out, written=', '.join(written[:6]),
            value=f' and {len(written) - 6} more' if len(written) > 6 else ''), err=True)
    echo(_("next: ovnguard check --bundle {out}").format(out=out), err=True)
    raise typer.Exit(0 if whole else 1)
