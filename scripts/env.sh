# Sourced by every project script: puts the project's Node 24 first on PATH and names
# the cache outside the repository where slow builds live.
export CROSSTALK_CACHE=${CROSSTALK_CACHE:-/var/cache/crosstalk}
CROSSTALK_NODE_VERSION=24.21.0
CROSSTALK_NODE_DIR="$CROSSTALK_CACHE/node-v$CROSSTALK_NODE_VERSION"
# The machine's own Node is used when it is new enough for @kubernetes/client-node 2.x.
crosstalk_node_ok() {
  local v
  v=$(node --version 2>/dev/null) || return 1
  v=${v#v}
  local major=${v%%.*} rest=${v#*.}
  local minor=${rest%%.*}
  [ "$major" -gt 22 ] || { [ "$major" -eq 22 ] && [ "$minor" -ge 19 ]; }
}
if [ -x "$CROSSTALK_NODE_DIR/bin/node" ]; then
  case ":$PATH:" in *":$CROSSTALK_NODE_DIR/bin:"*) ;; *) export PATH="$CROSSTALK_NODE_DIR/bin:$PATH" ;; esac
  # node-gyp must compile against the headers of the Node that loads the addon.
  export npm_config_nodedir="$CROSSTALK_NODE_DIR"
fi
