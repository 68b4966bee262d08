"""A filesystem whose one file, hung.toml, hangs on read: what a dead NFS
server or a stuck FUSE daemon does to whoever reads it. The read is answered
(with the vassal file given) once the release file exists.

    python3 hung_fs.py MOUNTPOINT CONTENTS_FILE RELEASE_FILE

Prints "mounted" once the filesystem answers; runs until unmounted."""
import errno
import os
import stat
import sys
import time

from fusepy import FUSE, FuseOSError, Operations


class HungFs(Operations):
    def __init__(self, contents, release_file):
        self.contents = contents
        self.release_file = release_file

    def init(self, path):
        print("mounted", file=sys.stderr, flush=True)

    def getattr(self, path, fh=None):
        now = time.time()
        if path == "/":
            return dict(st_mode=stat.S_IFDIR | 0o755, st_nlink=2, st_ctime=now, st_mtime=now, st_atime=now)
        if path == "/hung.toml":
            return dict(st_mode=stat.S_IFREG | 0o644, st_nlink=1, st_size=len(self.contents), st_ctime=now,
                        st_mtime=now, st_atime=now)
        raise FuseOSError(errno.ENOENT)

    def readdir(self, path, fh):
        return [".", "..", "hung.toml"]

    def open(self, path, flags):
        return 0

    def read(self, path, size, offset, fh):
        while not os.path.exists(self.release_file):
            time.sleep(0.01)
        return self.contents[offset:offset + size]


if __name__ == "__main__":
    mountpoint, contents_file, release = sys.argv[1:4]
    with open(contents_file, "rb") as f:
        contents = f.read()
    FUSE(HungFs(contents, release), mountpoint, foreground=True, nothreads=False, allow_other=True)
