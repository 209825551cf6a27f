/* SPDX-License-Identifier: MIT */
/* forks.c: a parent that forks one child; the child leaks a block and the
 * parent waits for it. Two processes, one report each, in one document. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    pid_t pid = fork();
    if (pid == 0) {
        char *volatile lost = malloc(40);
        if (lost) memset(lost, 0, 40);
        lost = NULL;
        return 0;
    }
    int status;
    waitpid(pid, &status, 0);
    return 0;
}
