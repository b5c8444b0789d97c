"""The functions of a callgrind profile that cost the most instructions themselves (callees not
included), per request: callgrind_top.py PROFILE REQUESTS [--top N] [--inclusive RE] [--callers RE].
With --inclusive, the functions whose names match it are listed after, with their callees'
instructions included (a recursive function's are counted once for each level). With --callers,
the functions that call those whose names match it, with their calls a request and what those
calls cost. Swift names are demangled with `swift demangle`. (Here, callgrind_annotate 3.19 gave
the whole of such a profile of the gateway to `clone`, hence this.)"""

import argparse
import collections
import re
import subprocess
import sys

NAME = re.compile(r"^(c?ob|c?fn)=\((\d+)\)(?: (.*))?$")


def costs(path):
    """Per function id: its own instructions and its calls' instructions; the names of the ids
    and the objects they are in."""
    names, objects, object_of = {}, {}, {}
    own, called = collections.Counter(), collections.Counter()
    # (caller, callee) -> [calls, inclusive instructions of those calls]
    calls = collections.defaultdict(lambda: [0, 0])
    function = current_object = callee = None
    call_follows = False
    with open(path, errors="replace") as profile:
        for line in profile:
            match = NAME.match(line)
            if match:
                kind, id_, name = match.groups()
                if kind in ("ob", "cob"):
                    if kind == "ob":
                        current_object = id_
                    if name:
                        objects[id_] = name.strip().rsplit("/", 1)[-1]
                elif name:
                    names[id_] = name.strip()
                if kind == "fn":
                    function = id_
                    object_of.setdefault(id_, current_object)
                elif kind == "cfn":
                    callee = id_
                continue
            if line.startswith("calls="):
                call_follows = True  # the next cost line is the call's inclusive cost
                calls[function, callee][0] += int(line[6:].split()[0])
                continue
            if line[:1].isdigit() or line[:1] in "+-*":
                fields = line.split()
                if len(fields) >= 2:
                    (called if call_follows else own)[function] += int(fields[1])
                    if call_follows:
                        calls[function, callee][1] += int(fields[1])
                    call_follows = False
    return own, called, calls, names, {id_: objects.get(object_of.get(id_), "?") for id_ in object_of}


def demangle(ids, names):
    mangled = [names.get(id_, id_) for id_ in ids]
    output = subprocess.run(["swift", "demangle", "--simplified"], input="\n".join(mangled), capture_output=True, text=True)
    return dict(zip(ids, output.stdout.split("\n")))


def main():
    arguments = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    arguments.add_argument("profile")
    arguments.add_argument("requests", type=float)
    arguments.add_argument("--top", type=int, default=25)
    arguments.add_argument("--inclusive", type=re.compile)
    arguments.add_argument("--callers", type=re.compile)
    options = arguments.parse_args()
    requests = options.requests
    own, called, calls, names, objects = costs(options.profile)
    total = sum(own.values())
    top = own.most_common(options.top)
    readable = demangle([id_ for id_, _ in top], names)
    for id_, cost in top:
        print(f"  {cost / requests:9,.0f} {100 * cost / total:5.1f}%  {objects[id_][:18]:18} {readable[id_][:110]}")
    if options.inclusive or options.callers:
        readable = demangle(list(objects), names)
    if options.inclusive:
        matching = [id_ for id_ in objects if options.inclusive.search(readable[id_])]
        print(f"\n  with their callees, functions matching {options.inclusive.pattern!r}:")
        for id_ in sorted(matching, key=lambda id_: -(own[id_] + called[id_])):
            print(f"  {(own[id_] + called[id_]) / requests:9,.0f}         {objects[id_][:18]:18} {readable[id_][:110]}")
    if options.callers:
        by_caller = collections.defaultdict(lambda: [0, 0])
        for (caller, callee), (count, cost) in calls.items():
            if callee in readable and options.callers.search(readable[callee]):
                by_caller[caller][0] += count
                by_caller[caller][1] += cost
        print(f"\n  callers of functions matching {options.callers.pattern!r}: calls a request, their instructions a request")
        for caller, (count, cost) in sorted(by_caller.items(), key=lambda item: -item[1][1])[:options.top]:
            print(f"  {count / requests:7.1f} {cost / requests:9,.0f}  {objects.get(caller, '?')[:18]:18} {readable.get(caller, caller)[:110]}")


main()
