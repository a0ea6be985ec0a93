-- Filtre pandoc des rapports du forfait VSM, commun aux deux moteurs (Quarto : « filters »
-- de notebooks/_quarto.yml ; moteur intégré : vsm/render.py le passe à pandoc).
-- Ne change rien au HTML. En Typst :
--  1. échappe ce que Typst lirait comme du balisage en début de ligne ou de cellule
--     (« + 20 % … » deviendrait « 1. 20 % … », « - », « = », « / », « 3. ») ;
--  2. change les blocs ::: {.vsm-titre} {.vsm-surtitre} {.vsm-fiche} {.vsm-note} {.vsm-pied}
--     en appels aux fonctions du gabarit (typst-template.typ) ;
--  3. donne à chaque image son texte de remplacement (balise « alt » du PDF), hors Quarto
--     qui le fait lui-même (attribut fig-alt).

local is_typst = FORMAT:match("typst") ~= nil
local BOXES = {
  ["vsm-titre"] = true, ["vsm-surtitre"] = true, ["vsm-fiche"] = true,
  ["vsm-note"] = true, ["vsm-pied"] = true,
}
local CONTAINERS = { Strong = true, Emph = true, Span = true, Underline = true, SmallCaps = true }

-- Escape the start of a run of inlines (the first Str, looking inside bold, italics…).
local function escape_first(inlines)
  local first = inlines[1]
  if first == nil then return end
  if CONTAINERS[first.t] then
    escape_first(first.content)
    return
  end
  if first.t ~= "Str" then return end
  local text = first.text
  local mark, rest = text:match("^([%+%-=/])(.*)$")
  local raw
  if mark then
    raw = "\\" .. mark
  else
    local digits
    digits, rest = text:match("^(%d+)%.(.*)$")
    if digits then raw = digits .. "\\." end
  end
  if raw then
    inlines[1] = pandoc.RawInline("typst", raw)
    if rest ~= "" then inlines:insert(2, pandoc.Str(rest)) end
  end
end

local function escape_lines(block)
  escape_first(block.content)
  local content = block.content
  for i = #content - 1, 1, -1 do -- every line after a hard line break starts a line too
    if content[i].t == "LineBreak" then
      local rest = pandoc.Inlines({})
      for j = i + 1, #content do rest:insert(content[j]) end
      escape_first(rest)
      for j = #content, i + 1, -1 do content:remove(j) end
      content:extend(rest)
    end
  end
  return block
end

local function box(div)
  for _, class in ipairs(div.classes) do
    if BOXES[class] then
      local blocks = pandoc.Blocks({ pandoc.RawBlock("typst", "#" .. class .. "[") })
      blocks:extend(div.content)
      blocks:insert(pandoc.RawBlock("typst", "]"))
      return blocks
    end
  end
end

local function typst_string(text)
  return '"' .. text:gsub("\\", "\\\\"):gsub('"', '\\"') .. '"'
end

local function image(img)
  if quarto ~= nil then return nil end
  local alt = img.attributes["fig-alt"] or pandoc.utils.stringify(img.caption)
  local width = img.attributes["width"]
  local args = typst_string(img.src) .. ", alt: " .. typst_string(alt)
  if width and width:match("^%d+%%$") then args = args .. ", width: " .. width end
  return pandoc.RawInline("typst", "#box(image(" .. args .. "))")
end

if not is_typst then
  return {}
end

return {
  { Plain = escape_lines, Para = escape_lines },
  { Div = box, Image = image },
}
