document.addEventListener('DOMContentLoaded',function(){var b=document.querySelector('#cookie-consent button');if(b)b.onclick=function(){document.getElementById('cookie-consent').remove();};});
