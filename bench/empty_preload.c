/* An empty preload library: the floor that any LD_PRELOAD library costs a
 * process start (open, map, relocate one more object). B6 start-up compares
 * the shim's start-up with it. */
int enact_bench_empty_preload;
