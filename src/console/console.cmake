# The web console: built with npm + vite and embedded into cirrus_lib as console_assets.c
# (why embedded: see console.h). Included from the top-level CMakeLists.txt after cirrus_lib.
#
#   -DCIRRUS_CONSOLE=ON (default)  build the console when node >= 20.19 and npm are found; npm ci
#                                  runs only when package-lock.json changed, the build only when a
#                                  console source changed.
#   -DCIRRUS_CONSOLE=OFF           or node/npm missing: an empty table, and /console answers 503.
option(CIRRUS_CONSOLE "Build the web console with npm and embed it into cirrus" ON)

set(CONSOLE_SRC ${CMAKE_SOURCE_DIR}/src/console)
set(CONSOLE_OUT ${CMAKE_BINARY_DIR}/console)
set(CONSOLE_C ${CONSOLE_OUT}/console_assets.c)
file(MAKE_DIRECTORY ${CONSOLE_OUT})

set(CONSOLE_ENABLED OFF)
if(CIRRUS_CONSOLE)
  find_program(CIRRUS_NODE node)
  find_program(CIRRUS_NPM npm)
  if(CIRRUS_NODE AND CIRRUS_NPM)
    execute_process(COMMAND ${CIRRUS_NODE} --version OUTPUT_VARIABLE node_version OUTPUT_STRIP_TRAILING_WHITESPACE)
    string(REGEX REPLACE "^v" "" node_version "${node_version}")
    # vite 8 needs node ^20.19 or >= 22.12
    if(node_version VERSION_GREATER_EQUAL 20.19)
      set(CONSOLE_ENABLED ON)
    else()
      message(WARNING "console: node ${node_version} is too old for vite (need >= 20.19); /console will answer 503")
    endif()
  else()
    message(WARNING "console: node or npm not found; building without the web console (/console will answer 503)")
  endif()
endif()

if(CONSOLE_ENABLED)
  file(GLOB_RECURSE CONSOLE_INPUTS CONFIGURE_DEPENDS ${CONSOLE_SRC}/src/*)
  list(APPEND CONSOLE_INPUTS ${CONSOLE_SRC}/index.html ${CONSOLE_SRC}/package.json ${CONSOLE_SRC}/package-lock.json
       ${CONSOLE_SRC}/vite.config.ts ${CONSOLE_SRC}/tsconfig.json ${CONSOLE_SRC}/scripts/build.sh
       ${CONSOLE_SRC}/scripts/embed.mjs)
  add_custom_command(
    OUTPUT ${CONSOLE_C}
    COMMAND bash ${CONSOLE_SRC}/scripts/build.sh ${CONSOLE_OUT}/dist ${CONSOLE_C}
    DEPENDS ${CONSOLE_INPUTS}
    COMMENT "console: npm ci (if the lockfile changed), type check, vite build, embed"
    VERBATIM)
  message(STATUS "console: built with node ${node_version} and embedded")
else()
  # Another file name than the built table's, so turning the console back on never finds a fresh
  # stand-in where the build's output should be (and skips the build).
  set(CONSOLE_C ${CONSOLE_OUT}/console_assets_none.c)
  file(CONFIGURE OUTPUT ${CONSOLE_C} CONTENT
"/* The console was not built (no node/npm, or -DCIRRUS_CONSOLE=OFF): /console answers 503. */
#include <stddef.h>

#include \"console/console.h\"

const console_asset console_assets_table[1] = {{0}};
const size_t console_assets_count = 0;
" @ONLY)
endif()
target_sources(cirrus_lib PRIVATE ${CONSOLE_C})

# The browser test's usage seeder (tests/cli/console_browser.sh runs it from next to cirrus): past
# months of ledger records, rated by billing, for tenants the test made with the CLI.
add_executable(console_seed ${CMAKE_SOURCE_DIR}/tests/console/seed.c)
target_link_libraries(console_seed PRIVATE cirrus_lib)
