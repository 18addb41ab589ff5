// Unix-domain stream sockets for `fieldlink status`: sockaddr_un and SO_PEERCRED's struct ucred
// (behind _GNU_SOURCE), which Swift imports badly. Owned by FieldlinkOperability.
#pragma once
#include <sys/types.h>

/// A listening socket bound at `path` (mode 0600, set before listen(), so nobody can connect in
/// between); the fd, or -1 with errno (ENAMETOOLONG when the path does not fit sun_path).
int CLinuxIO_unix_listen(const char *path, int backlog);
/// accept4(2) with SOCK_CLOEXEC; the client's fd, or -1 with errno.
int CLinuxIO_accept(int fd);
/// A connected socket to `path`; the fd, or -1 with errno. EINTR is retried.
int CLinuxIO_unix_connect(const char *path);
/// The uid of the process at the other end of a connected Unix socket (SO_PEERCRED); 0 or -1 with errno.
int CLinuxIO_peer_uid(int fd, uid_t *uid);
/// SO_RCVTIMEO and SO_SNDTIMEO, in milliseconds; 0 or -1 with errno.
int CLinuxIO_socket_timeouts(int fd, int milliseconds);
