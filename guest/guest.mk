# Placeholder: the tiny guest's build rules (produces $(B)/tiny-guest).
$(B)/tiny-guest:
	@echo "tiny guest not written yet" >&2; false
