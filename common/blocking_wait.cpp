#include "common/blocking_wait.hpp"

namespace sharelink {
namespace {

thread_local BlockingWaitHooks* t_hooks = nullptr;

}  // namespace

void set_blocking_wait_hooks(BlockingWaitHooks* hooks) noexcept { t_hooks = hooks; }

BlockingWait::BlockingWait() noexcept : hooks_(t_hooks) {
  if (hooks_) hooks_->wait_begins();
}

BlockingWait::~BlockingWait() {
  if (hooks_) hooks_->wait_ends();
}

}  // namespace sharelink
