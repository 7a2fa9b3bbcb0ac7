#!/usr/bin/python3
"""A real liblsl peer for langevind's interop tests, driven over stdin/stdout (one JSON object per line).

Run as a separate process so that a liblsl crash cannot take down the Node test runner.
argv[1] is the path of liblsl64.so. LSLAPICFG must already point at the test lsl_api.cfg.
Every request gets exactly one reply line: {"ok": true, ...} or {"error": "..."}.
"""
import ctypes as C
import json
import sys
import time

# Safety: liblsl 1.12 reads ./lsl_api.cfg (it ignores LSLAPICFG). Without machine scope it would join
# multicast groups and send discovery to multicast/broadcast addresses, so refuse to start.
try:
    with open('lsl_api.cfg') as f:
        _cfg = f.read().replace(' ', '')
except OSError:
    _cfg = ''
if 'ResolveScope=machine' not in _cfg or 'IPv6=disable' not in _cfg:
    sys.stdout.write(json.dumps({'error': 'refusing to start: ./lsl_api.cfg with ResolveScope = machine and IPv6 = disable is required'}) + '\n')
    sys.exit(3)

lib = C.CDLL(sys.argv[1])
FMT = {'float32': 1, 'double64': 2, 'string': 3, 'int32': 4, 'int16': 5, 'int8': 6, 'int64': 7}
CT = {1: C.c_float, 2: C.c_double, 4: C.c_int32, 5: C.c_int16, 6: C.c_char, 7: C.c_int64}
SUF = {1: 'f', 2: 'd', 3: 'str', 4: 'i', 5: 's', 6: 'c', 7: 'l'}
vp = C.c_void_p
lib.lsl_local_clock.restype = C.c_double
lib.lsl_create_streaminfo.restype = vp
lib.lsl_create_streaminfo.argtypes = [C.c_char_p, C.c_char_p, C.c_int, C.c_double, C.c_int, C.c_char_p]
lib.lsl_get_desc.restype = vp
lib.lsl_get_desc.argtypes = [vp]
lib.lsl_append_child.restype = vp
lib.lsl_append_child.argtypes = [vp, C.c_char_p]
lib.lsl_append_child_value.restype = vp
lib.lsl_append_child_value.argtypes = [vp, C.c_char_p, C.c_char_p]
lib.lsl_create_outlet.restype = vp
lib.lsl_create_outlet.argtypes = [vp, C.c_int, C.c_int]
lib.lsl_destroy_outlet.argtypes = [vp]
lib.lsl_get_info.restype = vp
lib.lsl_get_info.argtypes = [vp]
lib.lsl_get_xml.restype = C.c_void_p
lib.lsl_get_xml.argtypes = [vp]
lib.lsl_destroy_string.argtypes = [C.c_void_p]
lib.lsl_destroy_streaminfo.argtypes = [vp]
lib.lsl_have_consumers.argtypes = [vp]
lib.lsl_wait_for_consumers.argtypes = [vp, C.c_double]
lib.lsl_resolve_byprop.argtypes = [C.POINTER(vp), C.c_uint, C.c_char_p, C.c_char_p, C.c_int, C.c_double]
lib.lsl_resolve_bypred.argtypes = [C.POINTER(vp), C.c_uint, C.c_char_p, C.c_int, C.c_double]
lib.lsl_create_inlet.restype = vp
lib.lsl_create_inlet.argtypes = [vp, C.c_int, C.c_int, C.c_int]
lib.lsl_destroy_inlet.argtypes = [vp]
lib.lsl_get_fullinfo.restype = vp
lib.lsl_get_fullinfo.argtypes = [vp, C.c_double, C.POINTER(C.c_int)]
lib.lsl_open_stream.argtypes = [vp, C.c_double, C.POINTER(C.c_int)]
lib.lsl_time_correction.restype = C.c_double
lib.lsl_time_correction.argtypes = [vp, C.c_double, C.POINTER(C.c_int)]
lib.lsl_get_channel_count.argtypes = [vp]
lib.lsl_get_channel_format.argtypes = [vp]
lib.lsl_get_uid.restype = C.c_char_p
lib.lsl_get_uid.argtypes = [vp]
for f, ct in CT.items():
    s = SUF[f]
    getattr(lib, 'lsl_push_sample_%stp' % s).argtypes = [vp, C.POINTER(ct), C.c_double, C.c_int]
    getattr(lib, 'lsl_push_chunk_%stp' % s).argtypes = [vp, C.POINTER(ct), C.c_ulong, C.c_double, C.c_int]
    fn = getattr(lib, 'lsl_pull_sample_%s' % s)
    fn.restype = C.c_double
    fn.argtypes = [vp, C.POINTER(ct), C.c_int, C.c_double, C.POINTER(C.c_int)]
lib.lsl_push_sample_strtp.argtypes = [vp, C.POINTER(C.c_char_p), C.c_double, C.c_int]
lib.lsl_push_chunk_strtp.argtypes = [vp, C.POINTER(C.c_char_p), C.c_ulong, C.c_double, C.c_int]
lib.lsl_pull_sample_str.restype = C.c_double
lib.lsl_pull_sample_str.argtypes = [vp, C.POINTER(C.c_void_p), C.c_int, C.c_double, C.POINTER(C.c_int)]

outlets = {}   # id -> (outlet, fmt, channels)
inlets = {}    # id -> (inlet, fmt, channels)
next_id = [1]


def xml_of(info):
    p = lib.lsl_get_xml(info)
    s = C.cast(p, C.c_char_p).value.decode('utf-8')
    lib.lsl_destroy_string(p)
    return s


def values_array(fmt, n, values):
    if fmt == 3:
        return (C.c_char_p * len(values))(*[v.encode('utf-8') for v in values])
    if fmt == 6:
        return (C.c_char * len(values))(*[bytes([v & 0xff]) for v in values])
    return (CT[fmt] * len(values))(*values)


def make_outlet(r):
    fmt = FMT[r['format']]
    n = int(r['channels'])
    info = lib.lsl_create_streaminfo(r['name'].encode(), r.get('type', '').encode(), n, float(r.get('srate', 0)),
                                     fmt, r.get('source_id', '').encode())
    desc = lib.lsl_get_desc(info)
    if 'bin_ms' in r:
        b = lib.lsl_append_child(desc, b'binning')
        lib.lsl_append_child_value(b, b'bin_ms', str(r['bin_ms']).encode())
    if 'labels' in r:
        chs = lib.lsl_append_child(desc, b'channels')
        for lab in r['labels']:
            ch = lib.lsl_append_child(chs, b'channel')
            lib.lsl_append_child_value(ch, b'label', lab.encode())
    if 'manufacturer' in r:
        lib.lsl_append_child_value(desc, b'manufacturer', r['manufacturer'].encode())
    o = lib.lsl_create_outlet(info, int(r.get('chunk', 0)), int(r.get('max_buffered', 360)))
    if not o:
        raise RuntimeError('lsl_create_outlet failed')
    k = next_id[0]
    next_id[0] += 1
    outlets[k] = (o, fmt, n)
    oi = lib.lsl_get_info(o)
    x = xml_of(oi)
    lib.lsl_destroy_streaminfo(oi)
    return {'id': k, 'info': x}


def push(r):
    o, fmt, n = outlets[r['id']]
    vals = r['values']
    arr = values_array(fmt, n, vals)
    fn = getattr(lib, 'lsl_push_sample_%stp' % SUF[fmt])
    fn(o, arr, float(r.get('ts', 0.0)), int(r.get('pushthrough', 1)))
    return {}


def push_chunk(r):
    o, fmt, n = outlets[r['id']]
    flat = [v for row in r['values'] for v in row]
    arr = values_array(fmt, n, flat)
    fn = getattr(lib, 'lsl_push_chunk_%stp' % SUF[fmt])
    fn(o, arr, len(flat), float(r.get('ts', 0.0)), 1)
    return {}


def resolve(r):
    buf = (vp * 16)()
    if 'pred' in r:
        k = lib.lsl_resolve_bypred(buf, 16, r['pred'].encode(), int(r.get('minimum', 1)), float(r.get('timeout', 5)))
    else:
        k = lib.lsl_resolve_byprop(buf, 16, r['prop'].encode(), r['value'].encode(), int(r.get('minimum', 1)),
                                   float(r.get('timeout', 5)))
    return buf, max(k, 0)


def make_inlet(r):
    buf, k = resolve(r)
    if k == 0:
        raise RuntimeError('no stream resolved')
    info = buf[0]
    for i in range(1, k):
        lib.lsl_destroy_streaminfo(buf[i])
    short = xml_of(info)
    inl = lib.lsl_create_inlet(info, int(r.get('max_buflen', 360)), 0, int(r.get('recover', 1)))
    fmt = lib.lsl_get_channel_format(info)
    n = lib.lsl_get_channel_count(info)
    lib.lsl_destroy_streaminfo(info)
    ec = C.c_int(0)
    full = lib.lsl_get_fullinfo(inl, float(r.get('timeout', 5)), C.byref(ec))
    if ec.value != 0:
        raise RuntimeError('lsl_get_fullinfo error %d' % ec.value)
    fx = xml_of(full)
    lib.lsl_destroy_streaminfo(full)
    lib.lsl_open_stream(inl, float(r.get('timeout', 5)), C.byref(ec))
    if ec.value != 0:
        raise RuntimeError('lsl_open_stream error %d' % ec.value)
    kid = next_id[0]
    next_id[0] += 1
    inlets[kid] = (inl, fmt, n)
    return {'id': kid, 'shortinfo': short, 'info': fx, 'found': k}


def pull(r):
    inl, fmt, n = inlets[r['id']]
    want = int(r.get('n', 1))
    timeout = float(r.get('timeout', 5))
    out = []
    ec = C.c_int(0)
    for _ in range(want):
        if fmt == 3:
            ptrs = (C.c_void_p * n)()
            ts = lib.lsl_pull_sample_str(inl, ptrs, n, timeout, C.byref(ec))
            if ts == 0.0:
                break
            vals = []
            for p in ptrs:
                vals.append(C.cast(p, C.c_char_p).value.decode('utf-8', 'replace'))
                lib.lsl_destroy_string(p)
        else:
            buf = (CT[fmt] * n)()
            ts = getattr(lib, 'lsl_pull_sample_%s' % SUF[fmt])(inl, buf, n, timeout, C.byref(ec))
            if ec.value != 0:
                raise RuntimeError('pull error %d' % ec.value)
            if ts == 0.0:
                break
            vals = [b[0] if isinstance(b, bytes) and False else b for b in buf]
            if fmt == 6:
                vals = [int.from_bytes(v, 'little', signed=True) for v in buf]
        out.append({'ts': ts, 'values': vals, 'at': lib.lsl_local_clock()})
    return {'samples': out}


def time_correction(r):
    inl, _, _ = inlets[r['id']]
    ec = C.c_int(0)
    tc = lib.lsl_time_correction(inl, float(r.get('timeout', 5)), C.byref(ec))
    if ec.value != 0:
        raise RuntimeError('time_correction error %d' % ec.value)
    return {'tc': tc}


def wait_consumers(r):
    o, _, _ = outlets[r['id']]
    return {'have': bool(lib.lsl_wait_for_consumers(o, float(r.get('timeout', 5))))}


def resolve_op(r):
    buf, k = resolve(r)
    xs = []
    for i in range(k):
        xs.append(xml_of(buf[i]))
        lib.lsl_destroy_streaminfo(buf[i])
    return {'infos': xs}


def stream(r):
    """Benchmark rig: pushes `count` samples at `rate` Hz, each stamped with lsl_local_clock() at the push."""
    o, fmt, n = outlets[r['id']]
    rate = float(r['rate'])
    count = int(r['count'])
    base = [int(v) for v in r.get('values', [1] * n)]
    arr = (CT[fmt] * n)(*base)
    fn = getattr(lib, 'lsl_push_sample_%stp' % SUF[fmt])
    period = 1.0 / rate
    t_next = lib.lsl_local_clock()
    first = None
    for i in range(count):
        now = lib.lsl_local_clock()
        if t_next > now:
            time.sleep(t_next - now)
        arr[0] = i % 100
        ts = lib.lsl_local_clock()
        if first is None:
            first = ts
        fn(o, arr, ts, 1)
        t_next += period
    return {'pushed': count, 'first': first, 'last': ts}


def record(r):
    """Benchmark receiver: pulls one sample at a time; returns each timestamp and its local arrival time."""
    inl, fmt, n = inlets[r['id']]
    want = int(r['n'])
    deadline = lib.lsl_local_clock() + float(r['timeout'])
    buf = (CT[fmt] * n)()
    ec = C.c_int(0)
    fn = getattr(lib, 'lsl_pull_sample_%s' % SUF[fmt])
    ts_out, at_out = [], []
    while len(ts_out) < want and lib.lsl_local_clock() < deadline:
        ts = fn(inl, buf, n, 0.2, C.byref(ec))
        if ts != 0.0:
            at_out.append(lib.lsl_local_clock())
            ts_out.append(ts)
    return {'ts': ts_out, 'at': at_out}


def handle(r):
    op = r['op']
    if op == 'clock':
        return {'t': lib.lsl_local_clock()}
    if op == 'version':
        return {'library': lib.lsl_library_version(), 'protocol': lib.lsl_protocol_version()}
    if op == 'outlet':
        return make_outlet(r)
    if op == 'push':
        return push(r)
    if op == 'push_chunk':
        return push_chunk(r)
    if op == 'wait_consumers':
        return wait_consumers(r)
    if op == 'destroy_outlet':
        o, _, _ = outlets.pop(r['id'])
        lib.lsl_destroy_outlet(o)
        return {}
    if op == 'resolve':
        return resolve_op(r)
    if op == 'inlet':
        return make_inlet(r)
    if op == 'pull':
        return pull(r)
    if op == 'time_correction':
        return time_correction(r)
    if op == 'destroy_inlet':
        inl, _, _ = inlets.pop(r['id'])
        lib.lsl_destroy_inlet(inl)
        return {}
    if op == 'stream':
        return stream(r)
    if op == 'record':
        return record(r)
    if op == 'sleep':
        time.sleep(float(r['s']))
        return {}
    raise RuntimeError('unknown op ' + op)


def main():
    sys.stdout.write(json.dumps({'ok': True, 'ready': True, 'library': lib.lsl_library_version()}) + '\n')
    sys.stdout.flush()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            r = json.loads(line)
            if r.get('op') == 'quit':
                break
            res = handle(r)
            res['ok'] = True
        except Exception as e:  # reported to the test, which fails with the message
            res = {'error': '%s: %s' % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(res) + '\n')
        sys.stdout.flush()
    for o, _, _ in outlets.values():
        lib.lsl_destroy_outlet(o)
    for i, _, _ in inlets.values():
        lib.lsl_destroy_inlet(i)


if __name__ == '__main__':
    main()
