# cmake -DSCDOC=... -DGZIP=... -DSOURCE=page.scd -DOUTPUT=page -P RenderManPage.cmake
# Writes OUTPUT (roff, from scdoc) and OUTPUT.gz (gzip -9n, as Debian installs man pages).
execute_process(COMMAND "${SCDOC}" INPUT_FILE "${SOURCE}" OUTPUT_FILE "${OUTPUT}.tmp" RESULT_VARIABLE result
                ERROR_VARIABLE errors)
if(NOT result EQUAL 0)
  file(REMOVE "${OUTPUT}.tmp")
  message(FATAL_ERROR "scdoc ${SOURCE}: ${errors}")
endif()
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
execute_process(COMMAND "${GZIP}" -9n -c "${OUTPUT}" OUTPUT_FILE "${OUTPUT}.gz" RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "gzip ${OUTPUT} failed")
endif()
