// Thread names (pthread_setname_np, behind _GNU_SOURCE, which Swift's Glibc module does not
// declare). Owned by FieldlinkPOSIX's PosixThread.
#pragma once

/// Names the calling thread (at most 15 bytes are kept); 0 or an errno value.
int CLinuxIO_set_thread_name(const char *name);
