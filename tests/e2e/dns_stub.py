#!/usr/bin/env python3
"""A tiny DNS responder for tests: answers every A query for NAME with ADDRESS, NXDOMAIN
otherwise. Usage: dns_stub.py LISTEN_IP PORT NAME ADDRESS (UDP only)."""
import socket
import struct
import sys


def qname(packet, offset):
    labels = []
    while packet[offset]:
        n = packet[offset]
        labels.append(packet[offset + 1:offset + 1 + n].decode("ascii", "replace"))
        offset += 1 + n
    return ".".join(labels).lower(), offset + 1


def main():
    ip, port, name, address = sys.argv[1], int(sys.argv[2]), sys.argv[3].lower(), sys.argv[4]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((ip, port))
    while True:
        packet, peer = sock.recvfrom(512)
        if len(packet) < 12:
            continue
        ident, _flags, qd = struct.unpack("!HHH", packet[:6])
        if qd != 1:
            continue
        asked, end = qname(packet, 12)
        qtype, _qclass = struct.unpack("!HH", packet[end:end + 4])
        question = packet[12:end + 4]
        found = asked == name and qtype == 1
        flags = 0x8180 if asked == name else 0x8183  # response, RD+RA; NXDOMAIN for others
        header = struct.pack("!HHHHHH", ident, flags, 1, 1 if found else 0, 0, 0)
        answer = b""
        if found:
            answer = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(address)
        sock.sendto(header + question + answer, peer)


if __name__ == "__main__":
    main()
