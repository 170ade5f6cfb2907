-- BinaryTrees: the Computer Language Benchmarks Game's binary-trees (twin of
-- bench/BinaryTrees.som and BTNode.som): build and walk many perfect binary
-- trees while one long-lived tree stays alive. One object per node.
-- Size: max depth 12 (stretch tree 13). Verification: 674478 nodes checked.

local Node = {}
Node.__index = Node

-- A leaf has no children.
local function bottomUp(depth)
  if not (depth > 0) then return setmetatable({}, Node) end
  return setmetatable({ left = bottomUp(depth - 1), right = bottomUp(depth - 1) }, Node)
end

-- Answer the number of nodes in the tree rooted here.
function Node:check()
  local left = self.left
  if left == nil then return 1 end
  return 1 + left:check() + self.right:check()
end

return {
  name = "BinaryTrees",
  benchmark = function()
    local maxDepth, minDepth = 12, 4
    local total = bottomUp(maxDepth + 1):check()
    local longLived = bottomUp(maxDepth)
    for depth = minDepth, maxDepth, 2 do
      local iterations = 1 << (maxDepth - depth + minDepth)
      for _ = 1, iterations do
        total = total + bottomUp(depth):check()
      end
    end
    return total + longLived:check()
  end,
  verify = function(result) return result == 674478 end,
}
