"""Storage primitives every stage uses: the data directory's layout (every path), atomic writes, the build
lock, partition verification, the directory's world record and the YAML config files. The bottom of the
house above the domain facts: nothing here imports a stage."""
