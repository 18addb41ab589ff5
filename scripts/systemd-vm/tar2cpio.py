#!/usr/bin/env python3
"""Converts a root filesystem tarball (mmdebstrap's output) into a newc cpio archive that the Linux
kernel unpacks as its initramfs, without unpacking it here: owners, modes, device nodes, symlinks
and times are copied from the tar headers, so no root is needed. Hard links become copies.

    tar2cpio.py ROOT.tar OUT.cpio
"""
import stat
import sys
import tarfile

def main(source, target):
    inode = 1
    with tarfile.open(source) as tar, open(target, "wb") as out:
        def entry(name, mode, uid, gid, mtime, data=b"", rdev=(0, 0)):
            nonlocal inode
            name = name.encode() + b"\0"
            header = "070701" + "".join("%08X" % v for v in (
                inode, mode, uid, gid, 1, int(mtime), len(data), 0, 0, rdev[0], rdev[1], len(name), 0))
            inode += 1
            out.write(header.encode() + name)
            out.write(b"\0" * ((4 - (110 + len(name)) % 4) % 4))
            out.write(data)
            out.write(b"\0" * ((4 - len(data) % 4) % 4))

        members = {}
        for member in tar:
            name = member.name.removeprefix("./").rstrip("/") or "."
            perm = member.mode & 0o7777
            if member.isdir():
                entry(name, stat.S_IFDIR | perm, member.uid, member.gid, member.mtime)
            elif member.issym():
                entry(name, stat.S_IFLNK | 0o777, member.uid, member.gid, member.mtime, member.linkname.encode())
            elif member.islnk():
                target_member = members[member.linkname.removeprefix("./")]
                entry(name, stat.S_IFREG | perm, member.uid, member.gid, member.mtime,
                      tar.extractfile(target_member).read())
            elif member.isfile():
                members[member.name.removeprefix("./")] = member
                entry(name, stat.S_IFREG | perm, member.uid, member.gid, member.mtime, tar.extractfile(member).read())
            elif member.ischr() or member.isblk():
                kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
                entry(name, kind | perm, member.uid, member.gid, member.mtime, rdev=(member.devmajor, member.devminor))
            elif member.isfifo():
                entry(name, stat.S_IFIFO | perm, member.uid, member.gid, member.mtime)
        entry("TRAILER!!!", 0, 0, 0, 0)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
