// SPDX-License-Identifier: CECILL-C
// Copyright (C) 2026 The libmpcalloc authors
//
// C++ operator new and delete through the real library (linked with
// -lmpcalloc): every form of new and delete is served by libmpcalloc (the
// symbols resolve into it, and blocks cross freely between new/delete and
// malloc/free), alignment of the aligned forms, and libstdc++'s semantics
// when memory runs out: the new-handler is called until it gives up, then
// std::bad_alloc is thrown (through the library's frames); a handler that
// makes room lets new succeed; the nothrow forms return nullptr. Exit 0
// pass, 1 fail.
#include <dlfcn.h>
#include <malloc.h>
#include <sys/resource.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <mpcalloc.h>

static int failures;

#define CHECK(cond)                                                                       \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                \
      failures++;                                                                         \
    }                                                                                     \
  } while (0)

// The object that defines the function at `addr`.
static const char *object_of(void *addr)
{
  Dl_info info;
  if (dladdr(addr, &info) == 0 || info.dli_fname == nullptr)
    return "?";
  return info.dli_fname;
}

static bool ours(void *addr) { return std::strstr(object_of(addr), "libmpcalloc") != nullptr; }

static void test_symbols_are_ours()
{
  void *(*nw)(std::size_t) = &::operator new;
  void *(*na)(std::size_t) = &::operator new[];
  void *(*nnt)(std::size_t, const std::nothrow_t &) noexcept = &::operator new;
  void *(*nal)(std::size_t, std::align_val_t) = &::operator new;
  void (*dl)(void *) noexcept = &::operator delete;
  void (*dls)(void *, std::size_t) noexcept = &::operator delete;
  void (*dla)(void *) noexcept = &::operator delete[];
  void (*dlal)(void *, std::align_val_t) noexcept = &::operator delete;
  CHECK(ours(reinterpret_cast<void *>(nw)));
  CHECK(ours(reinterpret_cast<void *>(na)));
  CHECK(ours(reinterpret_cast<void *>(nnt)));
  CHECK(ours(reinterpret_cast<void *>(nal)));
  CHECK(ours(reinterpret_cast<void *>(dl)));
  CHECK(ours(reinterpret_cast<void *>(dls)));
  CHECK(ours(reinterpret_cast<void *>(dla)));
  CHECK(ours(reinterpret_cast<void *>(dlal)));
}

struct alignas(64) Line {
  char b[64];
};
struct alignas(4096) Page {
  char b[100];
};

static void test_blocks_cross_and_align()
{
  static const std::size_t sizes[] = {0, 1, 16, 100, 1000, 5000, 32768, 40000, 300000, 3 << 20};
  for (std::size_t s : sizes) {
    char *a = new char[s + 1];
    std::memset(a, 1, s + 1);
    CHECK(malloc_usable_size(a) >= s + 1);
    // mismatched on purpose: here a block of new[] is a malloc block
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
    std::free(a); // a block of new[] is a malloc block: the library is one
    char *m = static_cast<char *>(std::malloc(s + 1));
    delete[] m;
#pragma GCC diagnostic pop
    int *i = new int(7);
    CHECK(*i == 7);
    ::operator delete(i, sizeof(int)); // sized delete
  }
  Line *l = new Line[10];
  CHECK(reinterpret_cast<std::uintptr_t>(l) % 64 == 0);
  delete[] l;
  Page *p = new Page;
  CHECK(reinterpret_cast<std::uintptr_t>(p) % 4096 == 0);
  delete p;
  void *q = ::operator new(100, std::align_val_t(1 << 16), std::nothrow);
  CHECK(q != nullptr && reinterpret_cast<std::uintptr_t>(q) % (1 << 16) == 0);
  ::operator delete(q, std::align_val_t(1 << 16));
  void *z = ::operator new(0);
  void *z2 = ::operator new(0);
  CHECK(z != nullptr && z2 != nullptr && z != z2);
  ::operator delete(z);
  ::operator delete(z2);
}

// Counts the statistics' view of one more block.
static void test_counted()
{
  struct mpc_alloc_stats before, after;
  before.size = after.size = sizeof before;
  CHECK(mpc_alloc_stats_get(&before) == 0);
  char *big = new char[200000];
  std::memset(big, 2, 200000);
  CHECK(mpc_alloc_stats_get(&after) == 0);
  CHECK(after.in_use >= before.in_use + 200000);
  delete[] big;
}

static int handler_calls;
static void *reserve;
static void give_up()
{
  if (++handler_calls == 3)
    std::set_new_handler(nullptr);
}
static void make_room()
{
  handler_calls++;
  std::free(reserve); // cached by the library: the retry reuses it
  reserve = nullptr;
}

static const std::size_t absurd = std::size_t(1) << 46; // 64 TiB

static void test_out_of_memory()
{
  // no handler: bad_alloc
  bool thrown = false;
  try {
    char *p = new char[absurd];
    p[0] = 1;
  } catch (const std::bad_alloc &) {
    thrown = true;
  }
  CHECK(thrown);
  // a handler that gives up after three calls
  std::set_new_handler(give_up);
  thrown = false;
  try {
    void *p = ::operator new(absurd);
    ::operator delete(p);
  } catch (const std::bad_alloc &) {
    thrown = true;
  }
  CHECK(thrown);
  CHECK(handler_calls == 3);
  std::set_new_handler(nullptr);
  // aligned form too
  thrown = false;
  try {
    void *p = ::operator new(absurd, std::align_val_t(4096));
    ::operator delete(p, std::align_val_t(4096));
  } catch (const std::bad_alloc &) {
    thrown = true;
  }
  CHECK(thrown);
  // nothrow forms
  CHECK(::operator new(absurd, std::nothrow) == nullptr);
  CHECK(::operator new[](absurd, std::nothrow) == nullptr);
  CHECK(::operator new(absurd, std::align_val_t(64), std::nothrow) == nullptr);
}

static void test_handler_makes_room()
{
  // Under an address-space limit, a 256 MiB reserve is held; a 200 MiB new
  // fails until the handler frees the reserve, then succeeds.
  struct rlimit old;
  CHECK(getrlimit(RLIMIT_AS, &old) == 0);
  reserve = std::malloc(256u << 20);
  CHECK(reserve != nullptr);
  FILE *f = std::fopen("/proc/self/statm", "r");
  unsigned long pages = 0;
  if (f == nullptr || std::fscanf(f, "%lu", &pages) != 1)
    pages = 0;
  if (f)
    std::fclose(f);
  if (pages == 0) {
    std::free(reserve);
    return;
  }
  struct rlimit lim = old;
  lim.rlim_cur = pages * 4096ul + (64u << 20); // 64 MiB of room
  if (setrlimit(RLIMIT_AS, &lim) != 0) {
    std::free(reserve);
    return;
  }
  handler_calls = 0;
  std::set_new_handler(make_room);
  char *p = nullptr;
  try {
    p = new char[200u << 20];
  } catch (const std::bad_alloc &) {
  }
  std::set_new_handler(nullptr);
  setrlimit(RLIMIT_AS, &old);
  CHECK(p != nullptr);
  CHECK(handler_calls == 1);
  delete[] p;
  std::free(reserve);
}

int main()
{
  test_symbols_are_ours();
  test_blocks_cross_and_align();
  test_counted();
  test_out_of_memory();
  test_handler_makes_room();
  if (failures) {
    std::fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  std::puts("PASS: new_delete");
  return 0;
}
