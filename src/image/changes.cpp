#include "image/changes.h"

#include <algorithm>

#include "dockerfile/apply.h"
#include "dockerfile/text.h"

namespace strata::image {

namespace {

const char* const kAllowed[] = {"CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD",
                                "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"};

Status applyOne(oci::ImageConfig& image, dockerfile::StageFacts& facts, const std::string& change) {
  const auto invalid = [&](const std::string& why) {
    return failInvalid("invalid change `" + change + "`: " + why);
  };
  dockerfile::ParseOptions options;
  options.fileName = "change";
  auto ast = dockerfile::parse(change, options);
  if (!ast) return invalid(ast.error().message());
  if (ast->instructions.size() != 1) return invalid("one instruction expected");
  const dockerfile::Node& node = ast->instructions[0];
  const std::string keyword = dockerfile::text::toUpper(node.keyword);
  if (std::find(std::begin(kAllowed), std::end(kAllowed), keyword) == std::end(kAllowed))
    return invalid(keyword + " is not a valid change command");
  auto command = dockerfile::readCommand(node);
  if (!command) return invalid(command.error().message());
  auto applied = dockerfile::applyMetadata(image, facts, command->instruction, {}, ast->escape);
  if (!applied) return invalid(applied.error().message());
  return {};
}

}  // namespace

Status applyChanges(oci::ContainerConfig& config, const std::vector<std::string>& changes) {
  oci::ImageConfig image;
  image.config = config;
  dockerfile::StageFacts facts;
  for (const std::string& change : changes) TRYV(applyOne(image, facts, change));
  config = std::move(image.config);
  return {};
}

}  // namespace strata::image
