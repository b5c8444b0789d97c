"""The functions of a callgrind profile that cost the most instructions themselves (callees not
included), per request: callgrind_top.py PROFILE REQUESTS [COUNT [PATTERN]]. With PATTERN, a
regular expression, the functions whose names match it are listed after, with their callees'
instructions included (a recursive function's are counted once for each level). Swift names are
demangled with `swift demangle`. (Here, callgrind_annotate 3.19 gave the whole of such a profile
of the gateway to `clone`, hence this.)"""

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
                    (called if call_follows else own)[function] += int(fields[1])
                    call_follows = False
    return own, called, names, {id_: objects.get(object_of.get(id_), "?") for id_ in object_of}


def demangle(ids, names):
    mangled = [names.get(id_, id_) for id_ in ids]
    output = subprocess.run(["swift", "demangle", "--simplified"], input="\n".join(mangled), capture_output=True, text=True)
    return dict(zip(ids, output.stdout.split("\n")))


def main():
    path, requests = sys.argv[1], float(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 25
    pattern = re.compile(sys.argv[4]) if len(sys.argv) > 4 else None
    own, called, names, objects = costs(path)
    total = sum(own.values())
    top = own.most_common(count)
    readable = demangle([id_ for id_, _ in top], names)
    for id_, cost in top:
        print(f"  {cost / requests:9,.0f} {100 * cost / total:5.1f}%  {objects[id_][:18]:18} {readable[id_][:110]}")
    if pattern:
        readable = demangle(list(objects), names)
        matching = [id_ for id_ in objects if pattern.search(readable[id_])]
        print(f"\n  with their callees, functions matching {pattern.pattern!r}:")
        for id_ in sorted(matching, key=lambda id_: -(own[id_] + called[id_])):
            print(f"  {(own[id_] + called[id_]) / requests:9,.0f}         {objects[id_][:18]:18} {readable[id_][:110]}")


main()
