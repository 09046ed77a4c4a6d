#!/usr/bin/env python3
"""Builds the Jackson side jar the Iceberg Spark runtime jar lacks (scripts/servers/databricks.sh).

iceberg-spark-runtime-3.5_2.12 1.10.2 relocates Jackson to org.apache.iceberg.shaded.com.fasterxml
.jackson in its own classes but does not ship those classes: the first CREATE TABLE fails with
NoClassDefFoundError .../iceberg/shaded/com/fasterxml/jackson/core/JsonFactoryBuilder. The jar does
hold a complete Jackson relocated for Parquet (org.apache.iceberg.shaded.org.apache.parquet.shaded
.com.fasterxml.jackson). This copies those classes (and any other files under that folder) to
Iceberg's prefix, renaming every class they name: each class file's CONSTANT_Utf8 entries (class
names, descriptors, signatures, string literals) have the old prefix replaced, in its slash and
its dotted form, as a shading plugin does. Only the base classes are taken (not META-INF/versions:
the side jar is not multi-release; the base classes run on any Java).

usage: shade_jackson.py RUNTIME_JAR OUT_JAR
Then checks that every class under the new prefix the runtime jar names is in OUT_JAR: a missing
one of Jackson's core, databind or annotations fails (exit 1); others are only reported (the one
seen, datatype/jsr310/JavaTimeModule, is named only by Arrow's ObjectMapperFactory, which Arrow
uses to print vectors as JSON). The output is the same bytes for the same input (fixed timestamps).
"""
import os
import struct
import sys
import zipfile

OLD = "org/apache/iceberg/shaded/org/apache/parquet/shaded/com/fasterxml/jackson/"
NEW = "org/apache/iceberg/shaded/com/fasterxml/jackson/"
RENAMES = [(OLD.encode(), NEW.encode()), (OLD.replace("/", ".").encode(), NEW.replace("/", ".").encode())]
FIXED_TIME = (1980, 2, 1, 0, 0, 0)

# Constant pool tags -> the size of their body (JVMS 4.4); Utf8 (1) is handled apart.
SIZES = {3: 4, 4: 4, 5: 8, 6: 8, 7: 2, 8: 2, 9: 4, 10: 4, 11: 4, 12: 4, 15: 3, 16: 2, 17: 4, 18: 4, 19: 2, 20: 2}


def rename(data):
    for old, new in RENAMES:
        data = data.replace(old, new)
    return data


def utf8_entries(cls):
    """Yields (start, end) of each CONSTANT_Utf8's bytes, and the offset where the pool ends."""
    if cls[:4] != b"\xca\xfe\xba\xbe":
        raise ValueError("not a class file")
    count = struct.unpack_from(">H", cls, 8)[0]
    pos, i = 10, 1
    spans = []
    while i < count:
        tag = cls[pos]
        if tag == 1:
            length = struct.unpack_from(">H", cls, pos + 1)[0]
            spans.append((pos + 3, pos + 3 + length))
            pos += 3 + length
        elif tag in SIZES:
            pos += 1 + SIZES[tag]
            if tag in (5, 6):  # long and double take two slots
                i += 1
        else:
            raise ValueError(f"unknown constant pool tag {tag} at {pos}")
        i += 1
    return spans, pos


def relocate_class(cls):
    spans, end = utf8_entries(cls)
    out, last = [cls[:10]], 10
    for start, stop in spans:
        text = rename(cls[start:stop])
        if len(text) > 0xFFFF:
            raise ValueError("a renamed constant is too long")
        out.append(cls[last:start - 2])  # the tag byte
        out.append(struct.pack(">H", len(text)) + text)
        last = stop
    out.append(cls[last:])
    return b"".join(out)


def referenced_classes(cls, prefix):
    """Class names under prefix (slash form) that the class file's constants mention."""
    names = set()
    spans, _ = utf8_entries(cls)
    for start, stop in spans:
        text = cls[start:stop]
        at = text.find(prefix)
        while at >= 0:
            end = at
            while end < len(text) and (chr(text[end]).isalnum() or text[end] in b"/_$"):
                end += 1
            names.add(text[at:end].decode())
            at = text.find(prefix, end)
    return names


def main():
    src, dst = sys.argv[1], sys.argv[2]
    written = set()
    wanted = set()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst + ".part", "w", zipfile.ZIP_DEFLATED) as zout:
        manifest = zipfile.ZipInfo("META-INF/MANIFEST.MF", FIXED_TIME)
        zout.writestr(manifest, "Manifest-Version: 1.0\r\nCreated-By: jetbase shade_jackson.py\r\n\r\n",
                      zipfile.ZIP_DEFLATED)
        for info in zin.infolist():
            name = info.filename
            data = None
            if name.endswith(".class") and not name.startswith(OLD) and not name.startswith("META-INF/"):
                data = zin.read(name)
                if NEW.encode() in data:
                    wanted |= referenced_classes(data, NEW.encode())
                continue
            if not name.startswith(OLD) or name.endswith("/"):
                continue
            data = zin.read(name)
            new_name = NEW + name[len(OLD):]
            if name.endswith(".class"):
                data = relocate_class(data)
                written.add(new_name[:-len(".class")])
            zout.writestr(zipfile.ZipInfo(new_name, FIXED_TIME), data, zipfile.ZIP_DEFLATED)
    missing = sorted(n for n in wanted if not n.endswith("/") and n not in written)
    if missing:
        print(f"shade_jackson: not in the Parquet copy, named by the runtime jar: {', '.join(missing)}",
              file=sys.stderr)
    core = ("core/", "databind/", "annotation/")
    if any(n[len(NEW):].startswith(core) for n in missing):
        os.remove(dst + ".part")
        sys.exit(1)
    os.replace(dst + ".part", dst)
    print(f"shade_jackson: {len(written)} classes to {dst} ({len(wanted)} of them named by Iceberg)", file=sys.stderr)


if __name__ == "__main__":
    main()
