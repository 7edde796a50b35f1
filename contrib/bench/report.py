#!/usr/bin/env python3
"""report.py - the benchmark scripts' one output (peers.sh, smallfiles.sh):
the steps each tool ran (wall and CPU seconds, a daemon's apart) and the
bytes each kept, from the tab-separated files common.sh's bench_step and
bench_bytes write, as a table, CSV or JSON.

steps.tsv: tool, step, wall s, user s, system s, daemon user s, daemon
system s ('-' without a daemon; 'FAIL' for a step that failed).
bytes.tsv: tool, bytes before parity, bytes on disk with parity, all the
tool's store holds on disk (index, journals...); '-' when unknown.
"""
import argparse
import csv
import json
import sys


def num(v):
    try:
        return float(v)
    except ValueError:
        return None


def inum(v):
    f = num(v)
    return None if f is None else int(f)


def read_tsv(path, width):
    rows = []
    try:
        with open(path) as f:
            for line in f:
                cols = line.rstrip('\n').split('\t')
                if len(cols) == width:
                    rows.append(cols)
    except FileNotFoundError:
        pass
    return rows


def load_steps(path):
    out = []
    for tool, step, wall, user, system, duser, dsys in read_tsv(path, 7):
        user, system = num(user), num(system)
        duser, dsys = num(duser), num(dsys)
        out.append({
            'tool': tool, 'step': step, 'failed': wall == 'FAIL',
            'wall_s': num(wall),
            'client_user_s': user, 'client_sys_s': system,
            'client_cpu_s': None if user is None else user + system,
            'daemon_user_s': duser, 'daemon_sys_s': dsys,
            'daemon_cpu_s': None if duser is None else duser + dsys,
        })
    return out


def load_bytes(path):
    return [{'tool': t, 'stored_bytes': inum(a), 'disk_bytes': inum(b),
             'all_bytes': inum(c)} for t, a, b, c in read_tsv(path, 4)]


def family(tool):
    return tool.split()[0]


def add_ratios(steps, floors):
    """wall / the fastest wall of another family's peer for the step (the
    floors apart), and / the floor's."""
    for s in steps:
        others = [o['wall_s'] for o in steps
                  if o['step'] == s['step'] and o['wall_s']
                  and family(o['tool']) != family(s['tool'])
                  and o['tool'] not in floors]
        floor = [o['wall_s'] for o in steps
                 if o['step'] == s['step'] and o['wall_s']
                 and o['tool'] in floors and o['tool'] != s['tool']]
        w = s['wall_s']
        s['vs_best_peer'] = (w / min(others) if w and others
                             and s['tool'] not in floors else None)
        s['vs_floor'] = w / min(floor) if w and floor else None


def fmt(v, spec):
    return '-' if v is None else format(v, spec)


def mb(v):
    return '-' if v is None else '%d' % (v / 1e6)


def table(steps, bytes_, floors):
    w = max([len(s['tool']) for s in steps + bytes_] + [4])
    has_floor = any(s['vs_floor'] is not None for s in steps)
    head = '%-*s  %-14s %8s %8s %8s %8s %7s' % (
        w, 'tool', 'step', 'wall s', 'cpu s', 'client', 'daemon', '/peer')
    print(head + ('  %7s' % '/floor' if has_floor else ''))
    last = None
    for s in steps:
        if last is not None and s['tool'] != last:
            print()
        last = s['tool']
        cpu = s['client_cpu_s']
        if cpu is not None and s['daemon_cpu_s'] is not None:
            cpu += s['daemon_cpu_s']
        line = '%-*s  %-14s %8s %8s %8s %8s %7s' % (
            w, s['tool'], s['step'],
            'FAIL' if s['failed'] else fmt(s['wall_s'], '.2f'),
            fmt(cpu, '.2f'),
            fmt(s['client_cpu_s'], '.2f') if s['daemon_cpu_s'] is not None
            else '-', fmt(s['daemon_cpu_s'], '.2f'),
            fmt(s['vs_best_peer'], '.2f'))
        print(line + ('  %7s' % fmt(s['vs_floor'], '.2f') if has_floor
                      else ''))
    print('cpu s: user + system, client and daemon together; /peer: wall '
          'over the fastest other tool\'s' +
          (', /floor: over %s\'s' % ', '.join(sorted(floors))
           if has_floor else ''))
    if not bytes_:
        return
    print()
    print('%-*s  %12s %12s %12s' % (w, 'tool', 'stored MB', 'on disk MB',
                                    'all MB'))
    for b in bytes_:
        print('%-*s  %12s %12s %12s' % (w, b['tool'], mb(b['stored_bytes']),
                                         mb(b['disk_bytes']),
                                         mb(b['all_bytes'])))
    print('stored: before parity (ddt: its segments, compressed); on disk: '
          'with parity (ddt: its fragments; others: their repository); '
          'all: everything in the store or repository (du); MB = 10^6 bytes')


def to_csv(steps, bytes_):
    cols = ['kind', 'tool', 'step', 'failed', 'wall_s', 'client_user_s',
            'client_sys_s', 'daemon_user_s', 'daemon_sys_s', 'vs_best_peer',
            'vs_floor', 'stored_bytes', 'disk_bytes', 'all_bytes']
    wr = csv.DictWriter(sys.stdout, cols, extrasaction='ignore')
    wr.writeheader()
    for s in steps:
        wr.writerow(dict(s, kind='step'))
    for b in bytes_:
        wr.writerow(dict(b, kind='bytes'))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--format', choices=['table', 'csv', 'json'],
                    default='table')
    ap.add_argument('--floor', action='append', default=[],
                    help='a tool that is a floor, not a peer (cp -a)')
    ap.add_argument('steps')
    ap.add_argument('bytes')
    a = ap.parse_args()
    steps, bytes_ = load_steps(a.steps), load_bytes(a.bytes)
    add_ratios(steps, set(a.floor))
    if a.format == 'json':
        json.dump({'steps': steps, 'bytes': bytes_}, sys.stdout, indent=1)
        print()
    elif a.format == 'csv':
        to_csv(steps, bytes_)
    else:
        table(steps, bytes_, set(a.floor))


if __name__ == '__main__':
    main()
