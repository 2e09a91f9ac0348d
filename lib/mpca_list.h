/* SPDX-License-Identifier: CECILL-C
 * Copyright (C) 2026 The libmpcalloc authors
 *
 * Intrusive circular doubly linked lists with a sentinel head. */
#ifndef MPCA_LIST_H
#define MPCA_LIST_H

#include <stddef.h>
#include "mpca_types.h"

#define mpca_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

MPCA_INLINE void mpca_list_init(mpca_list *h) { h->next = h->prev = h; }
MPCA_INLINE bool mpca_list_empty(const mpca_list *h) { return h->next == h; }

MPCA_INLINE void mpca_list_push(mpca_list *h, mpca_list *n)
{
  n->next = h->next;
  n->prev = h;
  h->next->prev = n;
  h->next = n;
}

MPCA_INLINE void mpca_list_remove(mpca_list *n)
{
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->next = n->prev = n;
}

#endif
