-- The startup twin of examples/Hello.som: `espell bench` times the whole process.
print("Hello, World from Lua!")
