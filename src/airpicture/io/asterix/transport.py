"""Where ASTERIX datagrams come from and go to: .ast files, pcap/pcapng (dpkt), UDP.

UDP URLs are `udp://HOST:PORT`; a HOST in 224.0.0.0/4 is a multicast group (joined on
receive, TTL 1 on send). Optional `?iface=ADDR` picks the interface for multicast.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import struct
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from airpicture.core.errors import UserError

Datagram = tuple[float | None, bytes]
"""(receive time, UTC seconds since the epoch, or None where unknown; the datagram)."""

DEFAULT_RCVBUF_BYTES = 4 << 20
"""Receive buffer asked for: ~3 s of a busy multi-radar feed; the kernel caps it at
net.core.rmem_max (Debian's default 208 KiB) unless that is raised."""
MAX_DATAGRAM_BYTES = 65507
"""The largest UDP payload over IPv4."""


@dataclass(frozen=True)
class UdpUrl:
    """A parsed udp:// URL."""
    host: str
    port: int
    iface: str = "0.0.0.0"

    @property
    def multicast(self) -> bool:
        return ipaddress.ip_address(self.host).is_multicast


def parse_udp_url(url: str) -> UdpUrl:
    """`udp://HOST:PORT[?iface=ADDR]` -> UdpUrl (UserError when malformed)."""
    u = urlparse(url)
    if u.scheme != "udp" or not u.hostname or u.port is None:
        raise UserError(url, "expected udp://HOST:PORT")
    try:
        ipaddress.ip_address(u.hostname)
    except ValueError:
        raise UserError(url, "HOST must be an IPv4 address") from None
    iface = parse_qs(u.query).get("iface", ["0.0.0.0"])[0]
    return UdpUrl(u.hostname, u.port, iface)


def read_ast(path: str | Path) -> list[Datagram]:
    """A raw .ast/.raw file (concatenated data blocks) as one datagram with no receive time."""
    p = Path(path)
    try:
        return [(None, p.read_bytes())]
    except OSError as exc:
        raise UserError(p, f"cannot read: {exc.strerror}") from None


def read_pcap(path: str | Path, counts: Counter[str] | None = None) -> list[Datagram]:
    """UDP payloads of a pcap or pcapng file with their capture times (dpkt).

    Packets that are not IPv4/IPv6 UDP are skipped and counted.
    """
    import dpkt

    counts = Counter() if counts is None else counts
    p = Path(path)
    out: list[Datagram] = []
    try:
        with p.open("rb") as f:
            magic = f.read(4)
            f.seek(0)
            reader = dpkt.pcapng.Reader(f) if magic == b"\x0a\x0d\x0d\x0a" else dpkt.pcap.Reader(f)
            link = reader.datalink()
            for ts, buf in reader:
                payload = _udp_payload(link, buf)
                if payload is None:
                    counts["packets_skipped:not_udp"] += 1
                    continue
                out.append((float(ts), payload))
    except OSError as exc:
        raise UserError(p, f"cannot read: {exc.strerror}") from None
    except (ValueError, dpkt.dpkt.Error) as exc:
        raise UserError(p, f"not a pcap/pcapng file: {exc}") from None
    return out


def _udp_payload(link: int, buf: bytes) -> bytes | None:
    """The UDP payload of a captured packet, or None when it is not UDP."""
    import dpkt

    try:
        if link == dpkt.pcap.DLT_EN10MB:
            ip = dpkt.ethernet.Ethernet(buf).data
        elif link == dpkt.pcap.DLT_LINUX_SLL:
            ip = dpkt.sll.SLL(buf).data
        elif link in (dpkt.pcap.DLT_RAW, 12, 14):
            ip = dpkt.ip.IP(buf) if (buf[0] >> 4) == 4 else dpkt.ip6.IP6(buf)
        else:
            return None
    except (dpkt.dpkt.Error, IndexError):
        return None
    if not isinstance(ip, dpkt.ip.IP | dpkt.ip6.IP6) or not isinstance(ip.data, dpkt.udp.UDP):
        return None
    return bytes(ip.data.data)


def read_any(path: str | Path, counts: Counter[str] | None = None) -> list[Datagram]:
    """pcap/pcapng by content, anything else as a raw ASTERIX file."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise UserError(p, f"cannot read: {exc.strerror}") from None
    pcap_magics = {b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1",
                   b"\xa1\xb2\x3c\x4d", b"\x0a\x0d\x0d\x0a"}
    return read_pcap(p, counts) if magic in pcap_magics else read_ast(p)


def write_pcap(path: str | Path, datagrams: list[bytes], port: int = 8600,
               t0_s: float = 0.0, step_s: float = 0.001) -> Path:
    """Datagrams as Ethernet/IPv4/UDP packets to 127.0.0.1:port (for tshark and replays)."""
    import dpkt

    p = Path(path)
    with p.open("wb") as f:
        w = dpkt.pcap.Writer(f, linktype=dpkt.pcap.DLT_EN10MB)
        for i, payload in enumerate(datagrams):
            udp = dpkt.udp.UDP(sport=40000, dport=port, data=payload)
            udp.ulen = len(udp)
            ip = dpkt.ip.IP(src=socket.inet_aton("127.0.0.1"), dst=socket.inet_aton("127.0.0.1"),
                            p=dpkt.ip.IP_PROTO_UDP, data=udp, ttl=64)
            ip.len = len(ip)
            eth = dpkt.ethernet.Ethernet(src=b"\x00" * 6, dst=b"\x00" * 6,
                                         type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
            w.writepkt(bytes(eth), ts=t0_s + i * step_s)
    return p


class UdpSender:
    """Sends datagrams to a udp:// URL (unicast or multicast)."""

    def __init__(self, url: str) -> None:
        self.url = parse_udp_url(url)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if self.url.multicast:
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                                 socket.inet_aton(self.url.iface))

    def send(self, datagram: bytes) -> None:
        self.sock.sendto(datagram, (self.url.host, self.url.port))

    def close(self) -> None:
        self.sock.close()


@dataclass
class UdpStats:
    """One listening URL's receive statistics: what arrived, and what the kernel dropped
    because the receive buffer was full (Linux: the socket's drops column in /proc/net/udp)."""

    url: str
    rcvbuf_requested_bytes: int = 0
    rcvbuf_granted_bytes: int = 0
    """SO_RCVBUF as the kernel reports it after the request (Linux doubles the request for
    its bookkeeping and caps it at 2 x net.core.rmem_max)."""
    datagrams: int = 0
    bytes: int = 0
    last_datagram_utc_s: float | None = None
    inode: int = 0
    """The socket's inode (0 before it is bound): its key in /proc/net/udp."""
    _drops: int = field(default=0, repr=False)

    def on_datagram(self, t_utc_s: float, size: int) -> None:
        """Count one received datagram."""
        self.datagrams += 1
        self.bytes += size
        self.last_datagram_utc_s = t_utc_s

    def drops(self) -> int:
        """Datagrams the kernel dropped for this socket so far (the last value read once the
        socket is closed; 0 where /proc/net/udp is not available)."""
        if self.inode:
            found = _proc_udp_drops(self.inode)
            if found is not None:
                self._drops = found
        return self._drops

    def to_json(self) -> dict[str, Any]:
        """The statistics as plain values (for /api/feeds)."""
        return {"url": self.url, "datagrams": self.datagrams, "bytes": self.bytes,
                "drops": self.drops(), "rcvbuf_requested_bytes": self.rcvbuf_requested_bytes,
                "rcvbuf_granted_bytes": self.rcvbuf_granted_bytes,
                "last_datagram_utc_s": self.last_datagram_utc_s}


def _proc_udp_drops(inode: int) -> int | None:
    """The drops column of the socket with this inode in /proc/net/udp (or udp6)."""
    want = str(inode)
    for name in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(name) as f:
                next(f, None)
                for line in f:
                    cols = line.split()
                    if len(cols) >= 13 and cols[9] == want:
                        return int(cols[12])
        except OSError:
            continue
    return None


def bind_udp(url: str, rcvbuf_bytes: int = DEFAULT_RCVBUF_BYTES,
             stats: UdpStats | None = None) -> socket.socket:
    """A non-blocking socket bound for receiving on `url` (joins the multicast group), with a
    receive buffer of `rcvbuf_bytes` asked for; `stats` gets the granted size and inode."""
    u = parse_udp_url(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf_bytes > 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf_bytes)
    try:
        if u.multicast:
            sock.bind(("", u.port))
            mreq = struct.pack("4s4s", socket.inet_aton(u.host), socket.inet_aton(u.iface))
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
        else:
            sock.bind((u.host, u.port))
    except OSError as exc:
        sock.close()
        raise UserError(url, f"cannot listen: {exc.strerror}") from None
    sock.setblocking(False)
    if stats is not None:
        stats.rcvbuf_requested_bytes = rcvbuf_bytes
        stats.rcvbuf_granted_bytes = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        stats.inode = os.fstat(sock.fileno()).st_ino
    return sock


class _Receiver(asyncio.DatagramProtocol):
    """asyncio protocol handing each datagram and its arrival time on."""
    def __init__(self, on_datagram: Callable[[float, bytes], None],
                 stats: UdpStats | None) -> None:
        self.on_datagram = on_datagram
        self.stats = stats

    def datagram_received(self, data: bytes, addr: tuple[str | int, int]) -> None:
        t = time.time()
        if self.stats is not None:
            self.stats.on_datagram(t, len(data))
        self.on_datagram(t, data)


async def listen_udp(
    url: str, on_datagram: Callable[[float, bytes], None], stop: asyncio.Event,
    ready: asyncio.Event | None = None, rcvbuf_bytes: int = DEFAULT_RCVBUF_BYTES,
    stats: UdpStats | None = None,
) -> None:
    """Call on_datagram(receive time UTC s, bytes) for each datagram on `url` until `stop`;
    `ready` is set once the socket is bound (nothing sent before that is received).
    `rcvbuf_bytes` is the receive buffer asked for; `stats` counts what arrives (and reads
    the kernel's drops)."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Receiver(on_datagram, stats), sock=bind_udp(url, rcvbuf_bytes, stats))
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        if stats is not None:
            stats.drops()  # the last value, while the socket still exists
        transport.close()
