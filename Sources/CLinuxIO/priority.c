// The Swift runtime's libdispatch on Linux imitates Darwin's QoS classes by renicing each worker
// thread it starts: setpriority(PRIO_PROCESS, 0, nice) with nice -4..10 (queue.c,
// _dispatch_worker_thread), and logs "Failed to set thread priority for worker thread: pqc=…
// errno=…" to the journal when that fails. Under the unit it always fails: `SystemCallFilter=~@resources`
// refuses the call (EPERM), and a dynamic user may not lower a nice value anyway (EACCES). Letting
// the call through would cost the unit its `systemd-analyze security` score (1.5 -> 1.6) and still
// leave the EACCES lines.
//
// So fieldlink keeps the runtime from asking: this definition takes the place of libc's for the
// whole binary (a definition in the executable wins over the shared libc, for the statically linked
// runtime and for a debug build's libdispatch.so alike). A request for the calling thread itself
// (which = PRIO_PROCESS, who = 0: only libdispatch's form) is answered "done" without a system call,
// so every thread runs at the process's own nice value (the unit's Nice=, or the shell's); any
// other request goes to the kernel unchanged. fieldlink itself never renices anything.
#define _GNU_SOURCE
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int setpriority(__priority_which_t which, id_t who, int prio) {
    if (which == PRIO_PROCESS && who == 0) {
        return 0;
    }
    return (int)syscall(SYS_setpriority, (int)which, who, prio);
}
