// bench_no_rivals.cpp - the emu flavour has no cuDNN or cuBLAS to race
// (they need a GPU): no rival benchmarks (bench_rivals.cpp in the cuda
// flavour).
void register_rival_benchmarks() {}
