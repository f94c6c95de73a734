# Where the tools of the tests live, outside the clone (sourced by scripts/test.sh and .ci/run;
# sets variables, installs nothing).
#
#   CJ_TOOLS_CACHE    the cache root (default ~/.cache/cj-tools): Tansu, the Python venv,
#                     compiled dependencies. Delete a folder in it to rebuild that part.
#   CARGO_TARGET_DIR  compiled dependencies (default $CJ_TOOLS_CACHE/target): cargo's
#                     fingerprints decide what is rebuilt, so a second run skips the cold build.
#   PATH              Tansu's bin first (tests start their own brokers), then the venv's bin
#                     (so `python3` is the venv's: kafka-python for the stock-client test,
#                     choix for the cross-check and `bench bt-fit`), then ~/.cargo/bin.

export CJ_TOOLS_CACHE="${CJ_TOOLS_CACHE:-$HOME/.cache/cj-tools}"
# The versioned root is the cache key of the Tansu build: a new version installs beside it.
CJ_TANSU_VERSION=0.6.0
CJ_TANSU_ROOT="$CJ_TOOLS_CACHE/tansu-$CJ_TANSU_VERSION"
CJ_VENV="$CJ_TOOLS_CACHE/venv"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CJ_TOOLS_CACHE/target}"
export PATH="$CJ_TANSU_ROOT/bin:$CJ_VENV/bin:$HOME/.cargo/bin:$PATH"
