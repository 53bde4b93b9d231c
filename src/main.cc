#include "cli/app.h"

int main(int argc, char** argv) { return gh::cli::run(argc, argv); }
