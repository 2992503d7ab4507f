/* peer_uid.h - which local user is at the other end of a socket. Plain libc
 * (the CLI compiles peer_uid.c too, to check whose hub it reached). */
#ifndef BMQ_PEER_UID_H
#define BMQ_PEER_UID_H

#include <stdbool.h>
#include <sys/types.h>

/* The uid owning the peer end of the connected socket @fd:
 *  - AF_UNIX: SO_PEERCRED;
 *  - AF_INET/AF_INET6 over loopback: the kernel's socket table
 *    (NETLINK_SOCK_DIAG / inet_diag, what `ss -e` shows), looking up the
 *    socket whose local address is our peer's and whose peer is us.
 * 0 with *uid set, -1 when unknown (not local, no such socket, no
 * inet_diag in this kernel). */
int peer_uid_of_fd(int fd, uid_t *uid);
/* Whether @fd's peer is on this host (Unix socket or a loopback address). */
bool peer_is_local(int fd);

#endif
