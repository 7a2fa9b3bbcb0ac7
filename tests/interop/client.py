#!/usr/bin/python3
"""An independent langevind client: Python, pyzmq and Google's protobuf runtime, with code generated
by protoc from proto/langevind.proto. Used by tests/interop/python.test.ts.

  client.py PB2_DIR codec CASES.json
      CASES.json: {"spike_bins": [{seq, timestamp, counts, bin_ms, stream_id}], "decoded_hex": [hex]}
      prints {"spike_bins_hex": [...], "decoded": [{...}], "decoded_reserialized_hex": [...]}: our
      serialization of each SpikeBin, and our parse (and re-serialization) of each Decoded message
      the TypeScript side wrote.

  client.py PB2_DIR session PUB_ADDR SUB_ADDR BINS.json EXPECT
      Binds an XPUB on PUB_ADDR (the rig), connects a SUB to SUB_ADDR (the task computer), prints
      "subscribed" once the daemon's SUB has subscribed to "spikes", waits for a "go" line on stdin
      (sent once the daemon reports our subscription), publishes every bin of BINS.json, and prints
      the EXPECT Decoded messages it receives as one JSON line.
"""
import json
import sys
import time


def decoded_to_dict(m):
    return {
        "seq": m.seq,
        "timestamp": m.timestamp,
        "velocity": list(m.velocity),
        "received_ns": m.received_ns,
        "decoded_ns": m.decoded_ns,
        "sent_ns": m.sent_ns,
        "model_id": m.model_id,
        "stream_id": m.stream_id,
    }


def spike_bin(pb2, b):
    m = pb2.SpikeBin()
    m.seq = b["seq"]
    m.timestamp = b["timestamp"]
    m.counts.extend(b["counts"])
    m.bin_ms = b["bin_ms"]
    m.stream_id = b["stream_id"]
    return m


def codec(pb2, cases_path):
    with open(cases_path) as f:
        cases = json.load(f)
    out = {"spike_bins_hex": [], "decoded": [], "decoded_reserialized_hex": []}
    for b in cases["spike_bins"]:
        out["spike_bins_hex"].append(spike_bin(pb2, b).SerializeToString().hex())
    for h in cases["decoded_hex"]:
        m = pb2.Decoded()
        m.ParseFromString(bytes.fromhex(h))
        out["decoded"].append(decoded_to_dict(m))
        out["decoded_reserialized_hex"].append(m.SerializeToString().hex())
    print(json.dumps(out))


def session(pb2, pub_addr, sub_addr, bins_path, expect):
    import zmq

    with open(bins_path) as f:
        bins = json.load(f)
    ctx = zmq.Context()
    pub = ctx.socket(zmq.XPUB)
    pub.setsockopt(zmq.LINGER, 2000)
    pub.setsockopt(zmq.SNDHWM, 100000)
    pub.bind(pub_addr)
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVHWM, 100000)
    sub.setsockopt(zmq.SUBSCRIBE, b"velocity")
    sub.connect(sub_addr)

    # Wait for the daemon's subscription so no bin is lost to the slow-joiner window.
    poller = zmq.Poller()
    poller.register(pub, zmq.POLLIN)
    deadline = time.monotonic() + 30
    while True:
        if time.monotonic() > deadline:
            sys.exit("no subscription from the daemon within 30 s")
        if poller.poll(100):
            frame = pub.recv()
            if frame == b"\x01spikes":
                break
    print("subscribed", flush=True)
    if sys.stdin.readline().strip() != "go":
        sys.exit("expected 'go' on stdin")

    for b in bins:
        pub.send_multipart([b"spikes", spike_bin(pb2, b).SerializeToString()])

    got = []
    rpoll = zmq.Poller()
    rpoll.register(sub, zmq.POLLIN)
    deadline = time.monotonic() + 30
    while len(got) < expect:
        if time.monotonic() > deadline:
            break
        if not rpoll.poll(100):
            continue
        topic, payload = sub.recv_multipart()
        if topic != b"velocity":
            continue
        m = pb2.Decoded()
        m.ParseFromString(payload)
        got.append(decoded_to_dict(m))
    print(json.dumps({"decoded": got}), flush=True)
    pub.close()
    sub.close()
    ctx.term()


def main():
    pb2_dir, mode = sys.argv[1], sys.argv[2]
    sys.path.insert(0, pb2_dir)
    import langevind_pb2 as pb2

    if mode == "codec":
        codec(pb2, sys.argv[3])
    elif mode == "session":
        session(pb2, sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
