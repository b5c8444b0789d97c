"""The functions of a callgrind profile that cost the most instructions themselves (callees not
included), per request: callgrind_top.py PROFILE REQUESTS [COUNT]. Swift names are demangled
with `swift demangle`. (Here, callgrind_annotate 3.19 gave the whole of such a profile of the
gateway to `clone`, hence this.)"""

import collections
import re
import subprocess
import sys

NAME = re.compile(r"^(c?ob|c?fn)=\((\d+)\)(?: (.*))?$")


def own_costs(path):
    """Per function id: its own instructions; and the names of ids and of their objects."""
    names, objects, object_of = {}, {}, {}
    own = collections.Counter()
    function = current_object = None
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
                continue
            if line.startswith("calls="):
                call_follows = True  # the next cost line is the call's inclusive cost
                continue
            if line[:1].isdigit() or line[:1] in "+-*":
                fields = line.split()
                if len(fields) >= 2:
                    if not call_follows:
                        own[function] += int(fields[1])
                    call_follows = False
    return own, names, {id_: objects.get(object_of.get(id_), "?") for id_ in own}


def main():
    path, requests = sys.argv[1], float(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 25
    own, names, objects = own_costs(path)
    total = sum(own.values())
    top = own.most_common(count)
    mangled = [names.get(id_, id_) for id_, _ in top]
    demangled = subprocess.run(
        ["swift", "demangle", "--simplified"], input="\n".join(mangled), capture_output=True, text=True
    ).stdout.split("\n")
    for (id_, cost), name in zip(top, demangled):
        print(f"  {cost / requests:9,.0f} {100 * cost / total:5.1f}%  {objects[id_][:18]:18} {name[:110]}")


main()
