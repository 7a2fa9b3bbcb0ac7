#!/usr/bin/python3
"""A rig publisher on an independent ZeroMQ stack (Debian's python3-zmq), driven over stdin, for
the never-deaf tests (tests/support/py-rig.ts). Payloads come ready-encoded from the test, so this
side needs no protobuf.

  rig_peer.py ADDR bind|connect [curve]
      Opens an XPUB (verbose: every subscription is reported, also a SUB that comes back) on ADDR;
      `curve` makes it a CURVE server, which a plain (NULL) SUB fails to handshake with.
      Prints {"ready": true}; then reads one JSON command per line and answers one JSON line:
        {"wait_sub": SECONDS}                      -> {"subscribed": T_NS} (or {"error": ...})
        {"script": [STEP, ...]}                    -> {"sent": [T_NS per bin], "big": [T_NS], "subs": [T_NS]}
            STEP {"bins": [HEX, ...], "every_ms": MS}   topic "spikes", one bin every MS (absolute schedule)
            STEP {"big": COUNT, "size": BYTES}          COUNT messages of BYTES zero bytes, back to back
        {"quit": true}
      T_NS is time.monotonic_ns(), CLOCK_MONOTONIC, the clock Node's process.hrtime reads.
"""
import json
import sys
import time

import zmq


def main():
    addr, mode = sys.argv[1], sys.argv[2]
    curve = len(sys.argv) > 3 and sys.argv[3] == "curve"
    ctx = zmq.Context()
    pub = ctx.socket(zmq.XPUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.setsockopt(zmq.SNDHWM, 100000)
    pub.setsockopt(zmq.XPUB_VERBOSE, 1)
    if curve:
        _, secret = zmq.curve_keypair()
        pub.setsockopt(zmq.CURVE_SERVER, 1)
        pub.setsockopt(zmq.CURVE_SECRETKEY, secret)
    (pub.bind if mode == "bind" else pub.connect)(addr)
    subs = []

    def take_subs(timeout_ms):
        """Polls the XPUB for subscription messages for up to timeout_ms; records their times."""
        got = False
        while pub.poll(max(0, int(timeout_ms)), zmq.POLLIN):
            frame = pub.recv()
            if frame[:1] == b"\x01":
                subs.append(time.monotonic_ns())
                got = True
            timeout_ms = 0
        return got

    def say(obj):
        print(json.dumps(obj), flush=True)

    say({"ready": True})
    for line in sys.stdin:
        cmd = json.loads(line)
        if "wait_sub" in cmd:
            deadline = time.monotonic() + cmd["wait_sub"]
            n = len(subs)
            while len(subs) == n and time.monotonic() < deadline:
                take_subs(20)
            say({"subscribed": subs[-1]} if len(subs) > n else {"error": "no subscription"})
        elif "script" in cmd:
            sent, big = [], []
            for step in cmd["script"]:
                if "bins" in step:
                    every = step["every_ms"] * 1e6
                    t0 = time.monotonic_ns()
                    for i, h in enumerate(step["bins"]):
                        due = t0 + i * every
                        while True:
                            left = (due - time.monotonic_ns()) / 1e6
                            if left <= 0:
                                break
                            take_subs(left)
                        pub.send_multipart([b"spikes", bytes.fromhex(h)])
                        sent.append(time.monotonic_ns())
                else:
                    payload = bytes(step["size"])
                    for _ in range(step["big"]):
                        pub.send_multipart([b"spikes", payload])
                        big.append(time.monotonic_ns())
            take_subs(0)
            say({"sent": sent, "big": big, "subs": subs})
        elif cmd.get("quit"):
            break
    pub.close()
    ctx.term()


if __name__ == "__main__":
    main()
